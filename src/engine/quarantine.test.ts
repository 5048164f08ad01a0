import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
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
const T0 = Date.UTC(2026, 0, 1);

const view = (n: number): IncomingEvent => ({
  sourceId: 'web',
  messageId: `m${n}`,
  type: 'track',
  userId: `u${n % 50}`,
  anonymousId: null,
  name: 'Product Viewed',
  timestamp: T0 + n,
  receivedAt: T0 + n,
  message: { type: 'track', event: 'Product Viewed', userId: `u${n % 50}` } as unknown as Message,
});

interface Run {
  store: Store;
  path: string;
  processor: Processor;
  /** Events each commit attempt carried (cursor.to - cursor.from), in order. */
  attempts: number[];
  quarantined: number[];
}

/**
 * A log of `n` page views on a real store whose commit fails, deterministically, for any batch
 * holding one of `poison` (1-based offsets): a bug no one knows yet, in the commit itself.
 */
async function world(
  n: number,
  poison: readonly number[],
  options: { audiences?: boolean } = {},
): Promise<Run> {
  const path = join(mkdtempSync(join(tmpdir(), 'handoff-quarantine-')), 'handoff.db');
  const store = createSqliteStore(path);
  const events: IncomingEvent[] = [];
  for (let i = 1; i <= n; i++) events.push(view(i));
  await store.events.append(events);
  const commit = store.commit.bind(store);
  const attempts: number[] = [];
  const bad = new Set(poison);
  store.commit = (batch: BatchCommit) => {
    if (batch.cursor && batch.cursor.to > batch.cursor.from)
      attempts.push(batch.cursor.to - batch.cursor.from);
    const hit = batch.identity.some((op) => op.op === 'event' && bad.has(op.offset));
    return hit ? Promise.reject(new RangeError('Maximum call stack size exceeded')) : commit(batch);
  };
  const bus = new EventBus<HandoffEvents>();
  const quarantined: number[] = [];
  bus.on('processor.quarantined', (e) => quarantined.push(e.offset));
  let created = 0;
  const processor = new Processor({
    store,
    policy: config.identity,
    bus,
    clock: new ManualClock(T0 + n + 1000),
    ...(options.audiences
      ? { audiences: audienceSet(compileAudiences(config.audiences), config.audiences) }
      : {}),
    newProfileId: () => `p${++created}`,
  });
  return { store, path, processor, attempts, quarantined };
}

/** Every event of the 50 users that the identity store recorded, by offset. */
async function recorded(store: Store): Promise<number[]> {
  const ids = new Set<string>();
  for (let u = 0; u < 50; u++) {
    const p = await store.identity.findProfile({ kind: 'userId', value: `u${u}` });
    if (p) ids.add(p.id);
  }
  return (await store.audiences.history([...ids])).map((e) => e.offset).sort((a, b) => a - b);
}

describe('a deterministically failing event in a batch of 40,000 is isolated and quarantined', () => {
  const N = 40_000;
  for (const [where, poison] of [
    ['at the start', [1]],
    ['in the middle', [20_001]],
    ['at the end', [N]],
    ['two in one batch', [7_777, 31_234]],
  ] as const) {
    test(`${where}: the others are processed, the cursor passes it, and the search is not quadratic`, async () => {
      const run = await world(N, poison);
      try {
        assert.equal(await run.processor.drain(), N);
        assert.equal(await run.store.cursors.get('processor'), N);
        assert.deepEqual(run.quarantined, [...poison]);
        const rows = await run.store.quarantine.list();
        assert.deepEqual(
          rows.map((r) => [r.offset, r.messageId, r.type, r.attempts, r.error.errorClass]),
          poison.map((o) => [o, `m${o}`, 'track', 1, 'RangeError']),
        );
        assert.equal(rows[0]!.error.message, 'Maximum call stack size exceeded');
        const done = await recorded(run.store);
        assert.equal(done.length, N - poison.length);
        for (const o of poison) assert.ok(!done.includes(o), `${o} is not applied`);
        // Halving costs about 2n per poison in failed attempts, and ramping back up about n.
        const evaluated = run.attempts.reduce((a, b) => a + b, 0);
        assert.ok(evaluated <= 4 * N * poison.length, `${evaluated} events evaluated for ${N}`);
        assert.ok(run.attempts.length < 80 * poison.length, `${run.attempts.length} commit attempts`);
      } finally {
        await run.store.close();
      }
    });
  }

  test('a run of bad events is quarantined in about n log n, not n²', async () => {
    const poison = Array.from({ length: 64 }, (_, i) => 1_000 + i * 7);
    const run = await world(4_000, poison);
    try {
      await run.processor.drain();
      assert.deepEqual(
        (await run.store.quarantine.list()).map((r) => r.offset),
        poison,
      );
      assert.equal((await recorded(run.store)).length, 4_000 - poison.length);
      const evaluated = run.attempts.reduce((a, b) => a + b, 0);
      assert.ok(evaluated < 4_000 * 14, `${evaluated} events evaluated`);
    } finally {
      await run.store.close();
    }
  });
});

describe('events failing on their own are quarantined without a search', () => {
  test('a corrupted row (a body that is not JSON) and a normal event beside it', async () => {
    const run = await world(10, [], { audiences: true });
    try {
      // Rewritten underneath, as a damaged file or a hand edit would leave it.
      const raw = new Database(run.path);
      raw.prepare(`UPDATE events SET type = 'identify', body = '{"traits": {' WHERE seq = 4`).run();
      raw.close();
      assert.equal(await run.processor.drain(), 10);
      const [row] = await run.store.quarantine.list();
      assert.equal(row?.offset, 4);
      assert.equal(row?.error.errorClass, 'SyntaxError');
      assert.equal(run.attempts.length, 1, 'found as it was read: one commit, with the other events');
      assert.equal((await recorded(run.store)).length, 9);
    } finally {
      await run.store.close();
    }
  });
});

describe('wake-ups: one profile that fails every time does not hold up the others', () => {
  test('a profile whose stored state is corrupt is skipped with a record, and its wake-up cleared; the rest exit on time', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'handoff-wakeup-')), 'handoff.db');
    const store = createSqliteStore(path);
    const clock = new ManualClock(T0);
    const bus = new EventBus<HandoffEvents>();
    const skipped: string[] = [];
    bus.on('processor.skipped', (e) => skipped.push(`${e.profileId} ${e.reason} ${e.error.errorClass}`));
    let created = 0;
    const processor = new Processor({
      store,
      policy: config.identity,
      bus,
      clock,
      audiences: audienceSet(compileAudiences(config.audiences), config.audiences),
      newProfileId: () => `p${++created}`,
    });
    try {
      const added = (n: number): IncomingEvent => ({
        ...view(n),
        userId: `cart${n}`,
        name: 'Product Added',
        timestamp: T0,
        message: {
          type: 'track',
          event: 'Product Added',
          userId: `cart${n}`,
          properties: { product_id: 'x' },
        } as unknown as Message,
      });
      await store.events.append([added(1), added(2), added(3)]);
      await processor.drain();
      assert.deepEqual((await store.audiences.members('cart_0_4h')).map((m) => m.profileId).sort(), [
        'p1',
        'p2',
        'p3',
      ]);
      const raw = new Database(path);
      raw.prepare(`UPDATE profile_state SET state = '{"v":1,"trackers":' WHERE profile_id = 'p2'`).run();
      raw.close();
      clock.advance(5 * 3_600_000);
      while ((await processor.processWakeups()) > 0);
      assert.deepEqual(
        (await store.audiences.members('cart_0_4h')).map((m) => m.profileId),
        ['p2'],
      );
      assert.deepEqual(skipped, ['p2 window SyntaxError']);
      const far = clock.now() + 365 * 86_400_000;
      assert.ok(
        !(await store.audiences.due(far, 10)).includes('p2'),
        "p2's wake-up is cleared, not retried forever",
      );
    } finally {
      await store.close();
    }
  });
});
