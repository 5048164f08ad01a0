import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { testConfig } from '../helpers/harness.ts';
import type { App } from '../../src/app/app.ts';
import { createApp } from '../../src/app/app.ts';
import { emptyWrites } from '../../src/engine/model.ts';
import { openPostgres } from '../../src/store/postgres/database.ts';
import { postgresStore } from '../../src/store/postgres/index.ts';
import { signalChannel } from '../../src/store/postgres/signals.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../src/store/postgres/testing.ts';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { cartAudience } from '../helpers/cordial-audiences.ts';

// Two apps on one PostgreSQL schema stand for two serve processes: one runs the jobs, the other
// only ingests or only processes. The jobs' safety-net polls are ten minutes apart here, so work
// done in the other process is picked up within the test's bound only if its signal arrives.

const POLL_MS = 600_000;
const CORDIAL_KEY = 'signals-cordial-key';

/** Waits until `done` resolves true; fails after 15 s (a bound, not a timing assertion). */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  for (const end = Date.now() + 15_000; !(await done()); await sleep(20))
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
}

async function twoApps(fake: FakeCordial) {
  const schema = freshSchemaName();
  const url = testDatabaseUrl();
  const config = testConfig(
    '/nonexistent/unused.db',
    stringify({
      destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'SIGNALS_CORDIAL_KEY' } } },
      audiences: [cartAudience('cart')],
    }),
    { SIGNALS_CORDIAL_KEY: CORDIAL_KEY },
  );
  const open = async (): Promise<App> =>
    createApp({
      config,
      store: postgresStore(await openPostgres({ url, schema, poolSize: 2 })),
      safetyNetMs: POLL_MS,
    });
  const jobs = await open();
  const other = await open();
  jobs.start();
  await jobs.jobs.ready();
  // The jobs process listens once its jobs run: wait for its LISTEN to be in place.
  const watch = await openPostgres({ url, schema, poolSize: 1 });
  try {
    await until(async () => {
      const [row] = await watch<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = ${`LISTEN "${signalChannel(schema)}"`}`;
      return (row?.n ?? 0) > 0;
    }, 'the jobs process listens');
  } finally {
    await watch.end({ timeout: 1 });
  }
  return {
    jobs,
    other,
    close: async () => {
      await jobs.stop();
      await other.stop();
      await dropSchema(schema, url);
    },
  };
}

const added = (n: number) => ({
  type: 'track' as const,
  event: 'Product Added',
  userId: `u${n}`,
  messageId: `m${n}`,
  properties: { product_id: 'p' },
  context: { traits: { email: `u${n}@example.com` } },
});

test('an event accepted by an ingest-only process is processed by the jobs process on its signal, not its poll', async () => {
  const fake = await startFakeCordial({ apiKeys: [CORDIAL_KEY] });
  const { jobs, other, close } = await twoApps(fake);
  try {
    // The first poll at start has run; from here only a signal starts the processor.
    await jobs.settle();
    const result = await other.ingest.ingest('web', [added(1)]);
    assert.equal(result.accepted, 1);
    const head = await other.store.events.head();
    await until(async () => (await jobs.store.cursors.get('processor')) >= head, 'the event was processed');
  } finally {
    await close();
    await fake.close();
  }
});

test('changes committed by another process are read from the outbox and sent on their signal, not the poll', async () => {
  const fake = await startFakeCordial({ apiKeys: [CORDIAL_KEY] });
  const { jobs, other, close } = await twoApps(fake);
  try {
    await jobs.settle();
    // Committed by the other process as its processor would (an append would wake the jobs
    // process's processor too): the jobs process hears only that changes were committed.
    const at = Date.now();
    await other.store.commit({
      identity: [{ op: 'create', profileId: 'p2', at }],
      audiences: {
        ...emptyWrites(),
        changes: [
          {
            audience: 'cart',
            profileId: 'p2',
            change: 'enter',
            at,
            cause: { kind: 'window' },
            version: 'v1',
            heldOut: false,
          },
        ],
      },
    });
    const [change] = await other.store.audiences.changesAfter(0, 10);
    assert.ok(change, 'the other process committed the enter');
    await until(
      async () => (await jobs.store.cursors.get('sync:cordial')) >= change.seq,
      'the jobs process read the change',
    );
  } finally {
    await close();
    await fake.close();
  }
});
