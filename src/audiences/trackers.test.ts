import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudienceEvent } from './filters.ts';
import {
  applyToTrackers,
  emptyState,
  mergeTrackers,
  pruneTrackers,
  readStats,
  readTimestamps,
  trackerKey,
  type TrackerSpec,
} from './trackers.ts';

const H = 3_600_000;
const event = (name: string, timestamp: number, properties: Record<string, unknown> = {}): AudienceEvent => ({
  id: `${name}@${timestamp}`,
  name,
  timestamp,
  properties,
});

function tracking(...specs: TrackerSpec[]) {
  const map = new Map(specs.map((spec) => [trackerKey(spec), spec]));
  return { map, keys: [...map.keys()] };
}

test('equal specs share a key however their filters were written; different ones do not', () => {
  const a = { property: 'category', op: 'eq' as const, value: 'Skincare' };
  const b = { property: 'price', op: 'gt' as const, value: 10 };
  const base = { kind: 'timestamps' as const, horizon: 4 * H, cap: 1 };
  assert.equal(
    trackerKey({ ...base, match: { event: 'Product Viewed', where: [a, b] } }),
    trackerKey({ ...base, match: { event: 'Product Viewed', where: [b, a] } }),
  );
  assert.equal(
    trackerKey({ ...base, match: { event: 'X', where: [] } }),
    trackerKey({ ...base, match: { event: 'X' } }),
  );
  assert.notEqual(
    trackerKey({ ...base, match: { event: 'X' } }),
    trackerKey({ ...base, cap: 2, match: { event: 'X' } }),
  );
  assert.match(trackerKey({ ...base, match: { event: 'X' } }), /^ts\.[\w-]{12}$/);
});

test('late events insert in timestamp order and the cap keeps the latest', () => {
  const { map, keys } = tracking({
    kind: 'timestamps',
    match: { event: 'Product Added' },
    horizon: null,
    cap: 2,
  });
  let state = emptyState();
  for (const ts of [5 * H, 1 * H, 7 * H, 6 * H, 2 * H])
    state = applyToTrackers({ specs: map, state, event: event('Product Added', ts), now: 8 * H });
  assert.deepEqual(readTimestamps(state, keys[0]!), [6 * H, 7 * H]);
});

test('timestamps that have aged out are pruned, and a late one already out is never kept', () => {
  const { map, keys } = tracking({
    kind: 'timestamps',
    match: { event: 'Product Added' },
    horizon: 4 * H,
    cap: null,
  });
  let state = applyToTrackers({ specs: map, state: emptyState(), event: event('Product Added', 0), now: 0 });
  state = applyToTrackers({ specs: map, state, event: event('Product Added', 3 * H), now: 3 * H });
  assert.deepEqual(readTimestamps(state, keys[0]!), [0, 3 * H]);
  // At exactly 4h the first is 4h old: outside "within 4h" for good.
  assert.deepEqual(readTimestamps(pruneTrackers(map, state, 4 * H), keys[0]!), [3 * H]);
  state = applyToTrackers({ specs: map, state, event: event('Product Added', 1 * H), now: 6 * H });
  assert.deepEqual(readTimestamps(state, keys[0]!), [3 * H]);
  assert.deepEqual(pruneTrackers(map, state, 7 * H), emptyState(), 'an emptied tracker disappears');
});

test('stats aggregate numeric values only, and nothing else of the event is kept', () => {
  const { map, keys } = tracking({ kind: 'stats', match: { event: 'Order Completed' }, property: 'revenue' });
  let state = emptyState();
  for (const revenue of [100, '50', 'n/a', undefined, 30]) {
    state = applyToTrackers({
      specs: map,
      state,
      event: event('Order Completed', 0, { revenue, email: 'a@b.c' }),
      now: 0,
    });
  }
  assert.deepEqual(readStats(state, keys[0]!), [3, 180, 30, 100]);
  assert.equal(JSON.stringify(state).includes('a@b.c'), false);
});

test('state is plain JSON and survives a round trip unchanged', () => {
  const { map, keys } = tracking(
    { kind: 'values', match: { event: 'Order Completed' }, property: 'revenue', horizon: 30 * 24 * H },
    { kind: 'count', match: { event: 'Order Completed' } },
  );
  let state = emptyState();
  state = applyToTrackers({
    specs: map,
    state,
    event: event('Order Completed', 2 * H, { revenue: 20 }),
    now: 2 * H,
  });
  state = applyToTrackers({
    specs: map,
    state,
    event: event('Order Completed', 1 * H, { revenue: 10 }),
    now: 2 * H,
  });
  assert.deepEqual(JSON.parse(JSON.stringify(state)), state);
  assert.deepEqual(state.trackers, {
    [keys[0]!]: [
      [1 * H, 10],
      [2 * H, 20],
    ],
    [keys[1]!]: 2,
  });
});

test('trackers no longer compiled are dropped; `only` updates just the listed ones', () => {
  const old = tracking({ kind: 'count', match: { event: 'Product Added' } });
  const now = tracking(
    { kind: 'count', match: { event: 'Product Viewed' } },
    { kind: 'count', match: { event: 'Product Added' } },
  );
  let state = applyToTrackers({
    specs: old.map,
    state: emptyState(),
    event: event('Product Added', 0),
    now: 0,
  });
  const viewed = now.keys[0]!;
  const added = now.keys[1]!;
  // Backfill only the new tracker: replaying the old Product Added must not count it twice.
  state = applyToTrackers({
    specs: now.map,
    state,
    event: event('Product Added', 0),
    now: 0,
    only: new Set([viewed]),
  });
  state = applyToTrackers({
    specs: now.map,
    state,
    event: event('Product Viewed', 0),
    now: 0,
    only: new Set([viewed]),
  });
  assert.deepEqual(state.trackers, { [added]: 1, [viewed]: 1 });
  assert.deepEqual(pruneTrackers(tracking().map, state, 0), emptyState());
});

test('sums saturate at ±Number.MAX_VALUE: never Infinity, so never null once stored as JSON', () => {
  const { map, keys } = tracking({ kind: 'stats', match: { event: 'Order Completed' }, property: 'revenue' });
  const key = keys[0]!;
  let state = emptyState();
  for (const revenue of [1e308, 1e308, 5])
    state = applyToTrackers({ specs: map, state, event: event('Order Completed', 1, { revenue }), now: 2 });
  assert.deepEqual(readStats(state, key), [3, Number.MAX_VALUE, 5, 1e308]);
  const stored = JSON.parse(JSON.stringify(state)) as typeof state;
  assert.deepEqual(readStats(stored, key), [3, Number.MAX_VALUE, 5, 1e308]);
  let negative = emptyState();
  for (const revenue of [-1e308, -1e308])
    negative = applyToTrackers({
      specs: map,
      state: negative,
      event: event('Order Completed', 1, { revenue }),
      now: 2,
    });
  assert.equal(readStats(negative, key)?.[1], -Number.MAX_VALUE);
  // Merging two saturated profiles stays saturated.
  assert.equal(readStats(mergeTrackers(map, state, state, 2), key)?.[1], Number.MAX_VALUE);
});

test('a sum an older Handoff stored as null (it had overflowed) reads as saturated, and adds on', () => {
  const { map, keys } = tracking({ kind: 'stats', match: { event: 'Order Completed' }, property: 'revenue' });
  const key = keys[0]!;
  const old = {
    v: 1 as const,
    trackers: { [key]: [2, null, 1e308, 1e308] as unknown as [number, number, number, number] },
  };
  assert.deepEqual(readStats(old, key), [2, Number.MAX_VALUE, 1e308, 1e308]);
  const next = applyToTrackers({
    specs: map,
    state: old,
    event: event('Order Completed', 1, { revenue: 3 }),
    now: 2,
  });
  assert.deepEqual(readStats(next, key), [3, Number.MAX_VALUE, 3, 1e308]);
});
