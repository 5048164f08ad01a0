import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { compileAudiences } from '../audiences/index.ts';
import { parseConfig } from '../config/load.ts';
import { identityOf } from '../identity/resolve.ts';
import type { IncomingEvent } from '../ingest/event.ts';
import type { Message } from '../ingest/messages.ts';
import { EventBus } from '../shared/bus.ts';
import { ManualClock } from '../shared/clock.ts';
import type { Store } from '../store/ports.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { audienceSet } from './audience-stage.ts';
import { SEGMENT_EVENTS } from '../sources/customerio/messages.ts';
import { readBatch } from './batch-read.ts';
import type { HandoffEvents } from './events.ts';
import { Processor } from './processor.ts';

const parsed = parseConfig(
  readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8'),
  'handoff.yaml',
  { HANDOFF_WEB_WRITE_KEY: 'w', HANDOFF_BACKEND_WRITE_KEY: 'b', HANDOFF_ADMIN_TOKEN: 't' },
);
if (!parsed.ok) throw new Error(parsed.error.message);
const config = parsed.value;

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 5, 1);

interface Spec {
  kind: 'view' | 'add' | 'checkout' | 'order' | 'refund' | 'page' | 'identify';
  userId?: string;
  anonymousId?: string;
  /** Days before NOW. */
  age: number;
  revenue: number;
  skincare: boolean;
  email?: string;
  unsubscribed: boolean;
}

const TRACKED = {
  view: 'Product Viewed',
  add: 'Product Added',
  checkout: 'Checkout Started',
  order: 'Order Completed',
  refund: 'Order Refunded',
} as const;

function incoming(s: Spec, i: number): IncomingEvent {
  const timestamp = NOW - Math.round(s.age * DAY);
  const base = { messageId: `m${i}`, userId: s.userId, anonymousId: s.anonymousId };
  const message =
    s.kind === 'identify'
      ? { ...base, type: 'identify', traits: { email: s.email, unsubscribed: s.unsubscribed } }
      : s.kind === 'page'
        ? { ...base, type: 'page', name: 'Home', properties: { path: '/' } }
        : {
            ...base,
            type: 'track',
            event: TRACKED[s.kind],
            properties: {
              revenue: s.revenue,
              category: s.skincare ? 'Skincare' : 'Bags',
              collection: s.skincare ? 'new' : 'core',
              product_id: s.skincare ? 'bundle-01' : 'p2',
            },
          };
  return {
    sourceId: 'web',
    messageId: `m${i}`,
    type: message.type as IncomingEvent['type'],
    userId: s.userId ?? null,
    anonymousId: s.anonymousId ?? null,
    name: s.kind === 'identify' ? null : s.kind === 'page' ? 'Home' : TRACKED[s.kind],
    timestamp,
    receivedAt: NOW,
    message: message as unknown as Message,
  };
}

const specArb: fc.Arbitrary<Spec> = fc
  .record({
    kind: fc.constantFrom('view', 'add', 'checkout', 'order', 'refund', 'page', 'identify'),
    userId: fc.option(fc.constantFrom('u1', 'u2', 'u3'), { nil: undefined }),
    anonymousId: fc.option(fc.constantFrom('a1', 'a2', 'a3', 'a4'), { nil: undefined }),
    age: fc.double({ min: 0, max: 130, noNaN: true }),
    revenue: fc.integer({ min: 0, max: 200 }),
    skincare: fc.boolean(),
    email: fc.option(fc.constantFrom('x@shop.com', 'y@shop.com'), { nil: undefined }),
    unsubscribed: fc.boolean(),
  })
  .filter((s) => s.userId !== undefined || s.anonymousId !== undefined);

async function logOf(specs: readonly Spec[]): Promise<Store> {
  const store = createSqliteStore(':memory:');
  await store.events.append(specs.map(incoming));
  return store;
}

/** Drains the log through the example audiences; returns every change and the final members. */
async function run(specs: readonly Spec[], batchSize: number, readChunk: number) {
  const store = await logOf(specs);
  try {
    let created = 0;
    const bus = new EventBus<HandoffEvents>();
    const changes: string[] = [];
    bus.on('engine.changes', (e) => {
      for (const c of e.changes) changes.push(`${c.audience} ${c.profileId} ${c.change} ${c.cause.kind}`);
    });
    const processor = new Processor({
      store,
      policy: config.identity,
      bus,
      clock: new ManualClock(NOW),
      audiences: audienceSet(compileAudiences(config.audiences), config.audiences, SEGMENT_EVENTS),
      newProfileId: () => `p${++created}`,
      batchSize,
      readChunk,
    });
    assert.equal(await processor.drain(), specs.length);
    const members: Record<string, string[]> = {};
    for (const a of config.audiences)
      members[a.key] = (await store.audiences.members(a.key)).map((m) => m.profileId).sort();
    return { changes, members };
  } finally {
    await store.close();
  }
}

describe('reading a batch in chunks', () => {
  const specs: Spec[] = [
    { kind: 'page', anonymousId: 'a1', age: 1, revenue: 0, skincare: false, unsubscribed: false },
    {
      kind: 'identify',
      userId: 'u1',
      anonymousId: 'a1',
      email: 'x@shop.com',
      age: 1,
      revenue: 0,
      skincare: false,
      unsubscribed: false,
    },
    { kind: 'add', userId: 'u1', age: 0.01, revenue: 0, skincare: true, unsubscribed: false },
    { kind: 'page', userId: 'u1', age: 0.01, revenue: 0, skincare: false, unsubscribed: false },
    { kind: 'order', userId: 'u1', age: 0, revenue: 90, skincare: true, unsubscribed: false },
  ];
  const keepsTracked = (e: { name: string | null }) => e.name !== null && e.name !== 'Home';

  test('returns the same events, in order, up to the limit, whatever the chunk', async () => {
    const store = await logOf(specs);
    const all = await store.events.readAfter(0, 100);
    for (const chunk of [1, 2, 3, 100]) {
      for (const limit of [1, 4, 5, 100]) {
        const { events, identities } = await readBatch({
          log: store.events,
          after: 0,
          limit,
          chunk,
          policy: config.identity,
          keepsMessage: keepsTracked,
        });
        assert.deepEqual(
          events.map((e) => e.offset),
          all.slice(0, limit).map((e) => e.offset),
          `chunk ${chunk}, limit ${limit}`,
        );
        assert.deepEqual(
          identities,
          all.slice(0, limit).map((e) => identityOf(e, config.identity)),
        );
      }
    }
    const after = await readBatch({
      log: store.events,
      after: all[2]!.offset,
      limit: 100,
      chunk: 2,
      policy: config.identity,
      keepsMessage: keepsTracked,
    });
    assert.deepEqual(
      after.events.map((e) => e.messageId),
      ['m3', 'm4'],
    );
    await store.close();
  });

  test('keeps the message of an event it is told to keep, and only the columns of the rest', async () => {
    const store = await logOf(specs);
    const { events, identities } = await readBatch({
      log: store.events,
      after: 0,
      limit: 100,
      chunk: 2,
      policy: config.identity,
      keepsMessage: keepsTracked,
    });
    // The identify's email was read before its body was let go.
    assert.ok(identities[1]!.identifiers.some((i) => i.kind === 'email' && i.value === 'x@shop.com'));
    assert.throws(() => events[1]!.message, /event 2: its message was not kept/);
    assert.throws(() => events[3]!.message, /event 4: its message was not kept/);
    assert.equal(events[3]!.name, 'Home');
    assert.equal(events[3]!.userId, 'u1');
    assert.deepEqual((events[4]!.message as { properties: unknown }).properties, {
      revenue: 90,
      category: 'Skincare',
      collection: 'new',
      product_id: 'bundle-01',
    });
    await store.close();
  });

  test('lets timers and I/O run between chunks', async () => {
    const store = await logOf(specs);
    let ran = false;
    setImmediate(() => (ran = true));
    await readBatch({
      log: store.events,
      after: 0,
      limit: 100,
      chunk: 100,
      policy: config.identity,
      keepsMessage: keepsTracked,
    });
    assert.equal(ran, false, 'one chunk: no yield');
    await readBatch({
      log: store.events,
      after: 0,
      limit: 100,
      chunk: 2,
      policy: config.identity,
      keepsMessage: keepsTracked,
    });
    assert.equal(ran, true, 'several chunks: the event loop turned');
    await store.close();
  });

  test('a drain lets timers and I/O run between batches', async () => {
    const store = await logOf(specs);
    let created = 0;
    const processor = new Processor({
      store,
      policy: config.identity,
      bus: new EventBus<HandoffEvents>(),
      newProfileId: () => `p${++created}`,
      batchSize: 1,
    });
    let ran = false;
    setImmediate(() => (ran = true));
    assert.equal(await processor.drain(), specs.length);
    assert.equal(ran, true);
    await store.close();
  });

  test('the processor decides the same whatever its read chunk and batch size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(specArb, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        async (stream, chunk) => {
          const whole = await run(stream, 1000, 1000);
          const chunked = await run(stream, 1000, chunk);
          // Same batches, read in pieces: the same changes, in the same order.
          assert.deepEqual(chunked.changes, whole.changes);
          // One event a batch: a batch of many may fold an enter and its exit into nothing, but
          // every audience ends with the same members.
          const single = await run(stream, 1, 1);
          assert.deepEqual(chunked.members, single.members);
        },
      ),
      { numRuns: 40 },
    );
  });
});
