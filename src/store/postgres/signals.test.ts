import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { emptyWrites } from '../../engine/model.ts';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { Store } from '../ports.ts';
import { openPostgres } from './database.ts';
import { postgresStore } from './index.ts';
import { postgresSignals, signalChannel } from './signals.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from './testing.ts';

/** Waits until `done` holds; fails after 10 s (nothing here is a timing assertion). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 10_000; !done(); await sleep(10))
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
}

/** Two stores on one fresh schema, as two processes would open it. */
async function twoProcesses() {
  const schema = freshSchemaName();
  const url = testDatabaseUrl();
  const a = postgresStore(await openPostgres({ url, schema, poolSize: 2 }));
  const bSql = await openPostgres({ url, schema, poolSize: 2 });
  const b = postgresStore(bSql);
  return {
    schema,
    a,
    b,
    bSql,
    close: async () => {
      await a.close();
      await b.close();
      await dropSchema(schema, url);
    },
  };
}

/** What a hears of `events`, and b of both signals, once both LISTENs are in place. */
async function listening(a: Store, b: Store): Promise<{ inA: string[]; inB: string[] }> {
  const inA: string[] = [];
  const inB: string[] = [];
  a.signals.on('events', () => inA.push('events'));
  b.signals.on('events', () => inB.push('events'));
  b.signals.on('changes', () => inB.push('changes'));
  // A signal said before a LISTEN is in place is made up for by polling, not heard.
  await sleep(300);
  return { inA, inB };
}

test('signals: a signal said in one process is heard in another on the same schema, and its own once', async () => {
  const { a, b, close } = await twoProcesses();
  try {
    const { inA, inB } = await listening(a, b);
    a.signals.notify('events');
    await until(() => inB.length === 1, 'b heard events');
    a.signals.notify('changes');
    await until(() => inB.length === 2, 'b heard changes');
    // a heard its own signal at once, and not again when its NOTIFY came back.
    await sleep(200);
    assert.deepEqual(inA, ['events']);
    assert.deepEqual(inB, ['events', 'changes']);
  } finally {
    await close();
  }
});

test('signals: an append that stores events and a commit that records changes announce themselves in their own statements; announced sends nothing', async () => {
  const { a, b, close } = await twoProcesses();
  try {
    const { inA, inB } = await listening(a, b);
    const event: IncomingEvent = {
      sourceId: 'web',
      messageId: 'm1',
      type: 'track',
      userId: 'u1',
      anonymousId: null,
      name: 'Product Added',
      timestamp: 1,
      receivedAt: 2,
      message: { type: 'track', event: 'Product Added', userId: 'u1', messageId: 'm1' },
    };
    await a.events.append([event]);
    await until(() => inB.length === 1, 'b heard the append');
    // Only duplicates: nothing was stored, so nothing is announced.
    await a.events.append([event]);
    // The app tells this process's listeners; other processes heard the write itself.
    a.signals.announced('events');
    a.signals.announced('changes');
    await a.commit({
      identity: [],
      audiences: {
        ...emptyWrites(),
        changes: [
          {
            audience: 'cart',
            profileId: 'p1',
            change: 'enter',
            at: 1,
            cause: { kind: 'window' },
            version: 'v1',
            heldOut: false,
          },
        ],
      },
    });
    await until(() => inB.length === 2, 'b heard the commit');
    // A commit without changes announces nothing.
    await a.commit({ identity: [], audiences: emptyWrites() });
    await sleep(300);
    assert.deepEqual(inB, ['events', 'changes']);
    assert.deepEqual(inA, ['events']);
  } finally {
    await close();
  }
});

test('signals: a burst of notifies sends at most one NOTIFY in flight per signal, and the last is always heard', async () => {
  const { a, b, close } = await twoProcesses();
  try {
    let heard = 0;
    b.signals.on('events', () => heard++);
    await sleep(300);
    for (let i = 0; i < 50; i++) a.signals.notify('events');
    await until(() => heard >= 1, 'b heard the burst');
    await sleep(300);
    // The first goes at once and the 49 said while it was in flight go as one more.
    assert.equal(heard, 2);
  } finally {
    await close();
  }
});

test('signals: other schemas of the database do not hear them', async () => {
  const one = await twoProcesses();
  const other = await twoProcesses();
  try {
    let heard = 0;
    other.b.signals.on('events', () => heard++);
    let sameSchema = 0;
    one.b.signals.on('events', () => sameSchema++);
    await sleep(300);
    one.a.signals.notify('events');
    await until(() => sameSchema === 1, 'the same schema heard it');
    await sleep(200);
    assert.equal(heard, 0);
  } finally {
    await one.close();
    await other.close();
  }
});

test('signals: a dropped LISTEN connection is opened again, every listener is called once, and later signals are heard', async () => {
  const { schema, a, b, bSql, close } = await twoProcesses();
  try {
    const heard: string[] = [];
    b.signals.on('events', () => heard.push('events'));
    b.signals.on('changes', () => heard.push('changes'));
    await sleep(300);
    const listening = () => bSql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity
       WHERE application_name = 'handoff-signals' AND query = ${`LISTEN "${signalChannel(schema)}"`}`;
    const [before] = await listening();
    assert.ok(before, 'a LISTEN connection is open');
    // Both stores listen on the channel; drop them all (b's among them).
    for (const { pid } of await listening()) await bSql`SELECT pg_terminate_backend(${pid})`;
    await until(() => heard.length === 2, 'the listeners were called after the reconnect');
    assert.deepEqual(heard.sort(), ['changes', 'events']);
    a.signals.notify('events');
    await until(() => heard.length === 3, 'b heard a signal after the reconnect');
  } finally {
    await close();
  }
});

test('signals: while the database cannot be reached the LISTEN is retried with backoff and reported; this process still hears its own', async () => {
  // Nothing listens on port 1: every connection attempt is refused.
  const sql = postgres('postgres://127.0.0.1:1/test', { max: 1, connect_timeout: 1, onnotice: () => {} });
  const errors: unknown[] = [];
  const signals = postgresSignals(sql, {
    schema: 'handoff',
    retry: { initialMs: 20, multiplier: 2, maxMs: 100, jitter: 0 },
    onError: (error) => errors.push(error),
  });
  try {
    let heard = 0;
    signals.on('events', () => heard++);
    signals.notify('events');
    assert.equal(heard, 1);
    // The LISTEN and the NOTIFY fail, and the LISTEN is tried again.
    await until(() => errors.length >= 3, 'the failures were reported');
    assert.equal(heard, 1);
  } finally {
    await signals.close();
    await sql.end({ timeout: 1 });
  }
});
