import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileAudiences } from '../audiences/index.ts';
import { parseConfig } from '../config/load.ts';
import type { IncomingEvent } from '../ingest/event.ts';
import type { Message } from '../ingest/messages.ts';
import { EventBus } from '../shared/bus.ts';
import { ManualClock } from '../shared/clock.ts';
import type { BatchCommit, Store } from '../store/ports.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { audienceSet } from './audience-stage.ts';
import type { HandoffEvents } from './events.ts';
import { Processor } from './processor.ts';

const parsed = parseConfig(
  readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8'),
  'handoff.yaml',
  { HANDOFF_WEB_WRITE_KEY: 'w', HANDOFF_BACKEND_WRITE_KEY: 'b', HANDOFF_ADMIN_TOKEN: 't' },
);
if (!parsed.ok) throw new Error(parsed.error.message);
const config = parsed.value;
const set = audienceSet(compileAudiences(config.audiences), config.audiences);
const NOW = Date.UTC(2026, 0, 10);

const order = (n: number, userId: string): IncomingEvent => ({
  sourceId: 'backend',
  messageId: `o${n}`,
  type: 'track',
  userId,
  anonymousId: null,
  name: 'Order Completed',
  timestamp: NOW - 1000 + n,
  receivedAt: NOW - 1000 + n,
  message: {
    type: 'track',
    event: 'Order Completed',
    userId,
    properties: { revenue: 10 },
  } as unknown as Message,
});

/** A store on `path` whose commits fail, deterministically, for batches holding an offset in `bad`. */
function engine(path: string, bad: Set<number>) {
  const store = createSqliteStore(path);
  const commit = store.commit.bind(store);
  store.commit = (batch: BatchCommit) =>
    batch.identity.some((op) => op.op === 'event' && bad.has(op.offset))
      ? Promise.reject(new TypeError("Cannot read properties of undefined (reading 'x')"))
      : commit(batch);
  const bus = new EventBus<HandoffEvents>();
  const released: number[] = [];
  bus.on('processor.released', (e) => released.push(...e.offsets));
  let n = 0;
  const processor = new Processor({
    store,
    policy: config.identity,
    bus,
    clock: new ManualClock(NOW),
    audiences: set,
    newProfileId: () => `${path.length}-${++n}`,
  });
  return { store, processor, released };
}

const purchasers = async (store: Store) =>
  (
    await Promise.all(
      (await store.audiences.members('purchased_7d')).map((m) => store.identity.getProfile(m.profileId)),
    )
  )
    .map((p) => p?.identifiers.find((i) => i.kind === 'userId')?.value)
    .sort();

const fresh = () => join(mkdtempSync(join(tmpdir(), 'handoff-retry-')), 'handoff.db');

describe('retrying quarantined events', () => {
  test('once the cause is fixed, a retried event leaves the quarantine and moves its audience, late', async () => {
    const bad = new Set([2]);
    const e = engine(fresh(), bad);
    try {
      await e.store.events.append([order(1, 'a'), order(2, 'b'), order(3, 'c')]);
      await e.processor.drain();
      assert.deepEqual(await purchasers(e.store), ['a', 'c']);
      assert.deepEqual(
        (await e.store.quarantine.list()).map((q) => q.offset),
        [2],
      );
      bad.clear();
      assert.equal(await e.store.quarantine.requestRetry([2]), 1);
      await e.processor.drain();
      assert.deepEqual(await e.store.quarantine.list(), []);
      assert.deepEqual(e.released, [2]);
      assert.deepEqual(await purchasers(e.store), ['a', 'b', 'c']);
      assert.equal(await e.store.cursors.get('processor'), 3, 'the cursor stays where it was');
    } finally {
      await e.store.close();
    }
  });

  test('an event that fails again stays quarantined with attempts + 1, and is not retried unasked', async () => {
    const e = engine(fresh(), new Set([1]));
    try {
      await e.store.events.append([order(1, 'a')]);
      await e.processor.drain();
      await e.store.quarantine.requestRetry('all');
      await e.processor.drain();
      const [row] = await e.store.quarantine.list();
      assert.equal(row?.attempts, 2);
      assert.equal(row?.retryRequested, false);
      assert.equal(row?.error.errorClass, 'TypeError');
      assert.equal(await e.processor.drain(), 0, 'nothing more to do until asked again');
      assert.equal((await e.store.quarantine.list())[0]?.attempts, 2);
      assert.deepEqual(await purchasers(e.store), []);
    } finally {
      await e.store.close();
    }
  });

  test('two processes on one database retry a marked event once between them', async () => {
    const path = fresh();
    const bad = new Set([2]);
    const serve = engine(path, bad);
    const cli = engine(path, bad);
    try {
      await serve.store.events.append([order(1, 'a'), order(2, 'b'), order(3, 'c')]);
      await serve.processor.drain();
      bad.clear();
      await cli.store.quarantine.requestRetry([2]);
      await Promise.all([serve.processor.drain(), cli.processor.drain(), serve.processor.drain()]);
      assert.deepEqual([...serve.released, ...cli.released], [2], 'released by exactly one of them');
      assert.deepEqual(await serve.store.quarantine.list(), []);
      const b = await serve.store.identity.findProfile({ kind: 'userId', value: 'b' });
      const history = await serve.store.audiences.history([b!.id]);
      assert.deepEqual(
        history.map((h) => h.offset),
        [2],
        'applied once',
      );
      assert.equal(
        (await serve.store.audiences.changesOf(b!.id)).filter((c) => c.audience === 'purchased_7d').length,
        1,
      );
    } finally {
      await serve.store.close();
      await cli.store.close();
    }
  });
});
