// The oracle for the differential test, checked by hand against the definitions' wording, so
// a misreading shared by oracle and engine cannot hide.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudienceEvent } from '../filters.ts';
import { validateAudiences } from '../validate.ts';
import { bruteForceMembership } from './brute-force.ts';

const H = 3_600_000;

function decide(
  condition: unknown,
  events: AudienceEvent[],
  now: number,
  traits: Record<string, unknown> = {},
): boolean {
  const result = validateAudiences([
    { key: 'a', name: 'T | a', purpose: 'p', channels: [], ttl: 'none', condition },
  ]);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error.problems));
  return bruteForceMembership(result.value, { events, traits, threshold: () => 100 }, now).get('a') ?? false;
}
const e = (name: string, timestamp: number, properties: Record<string, unknown> = {}): AudienceEvent => ({
  id: `${name}${timestamp}`,
  name,
  timestamp,
  properties,
});

test('windows are half-open on age', () => {
  const added = [e('Product Added', 0)];
  assert.equal(decide({ type: 'event', event: 'Product Added', within: '4h' }, added, 4 * H - 1), true);
  assert.equal(decide({ type: 'event', event: 'Product Added', within: '4h' }, added, 4 * H), false);
  assert.equal(decide({ type: 'last', event: 'Product Added', between: ['4h', '24h'] }, added, 4 * H), true);
  assert.equal(
    decide({ type: 'last', event: 'Product Added', between: ['4h', '24h'] }, added, 24 * H),
    false,
  );
  assert.equal(decide({ type: 'last', event: 'Product Added', olderThan: '4h' }, added, 4 * H), true);
  assert.equal(decide({ type: 'last', event: 'Product Added', olderThan: '4h' }, [], 4 * H), false);
});

test('counts, since-last and aggregates as worded', () => {
  const views = [e('Product Viewed', 0), e('Product Viewed', H), e('Product Viewed', 2 * H)];
  assert.equal(
    decide({ type: 'event', event: 'Product Viewed', count: { eq: 2 }, within: '2h' }, views, 2 * H + 1),
    true,
  );
  assert.equal(decide({ type: 'event', event: 'Product Viewed', count: { lte: 0 } }, [], 0), true);
  const since = { type: 'since_last', event: 'Order Completed', since: 'Product Added' };
  assert.equal(decide(since, [e('Product Added', 5), e('Order Completed', 5)], 10), true);
  assert.equal(decide(since, [e('Product Added', 5), e('Order Completed', 4)], 10), false);
  const orders = [e('Order Completed', 0, { revenue: 50 }), e('Order Completed', 0, { revenue: 'x' })];
  assert.equal(
    decide(
      { type: 'aggregate', event: 'Order Completed', fn: 'avg', property: 'revenue', compare: { eq: 50 } },
      orders,
      0,
    ),
    true,
  );
  assert.equal(
    decide({ type: 'aggregate', event: 'Order Completed', fn: 'count', compare: { eq: 2 } }, orders, 0),
    true,
  );
  const noOrders = {
    type: 'aggregate',
    event: 'Order Completed',
    fn: 'sum',
    property: 'revenue',
    compare: { eq: 0 },
  };
  assert.equal(decide(noOrders, [], 0), true, 'the sum of nothing is 0');
  const noMin = {
    type: 'aggregate',
    event: 'Order Completed',
    fn: 'min',
    property: 'revenue',
    compare: { lt: 1000 },
  };
  assert.equal(decide(noMin, [], 0), false, 'the minimum of nothing does not exist');
});

test('top_percent needs a score at or above the threshold; traits come from the world', () => {
  const top = { type: 'top_percent', percent: 10, event: 'Order Completed', fn: 'sum', property: 'revenue' };
  assert.equal(decide(top, [e('Order Completed', 0, { revenue: 100 })], 0), true);
  assert.equal(decide(top, [e('Order Completed', 0, { revenue: 99 })], 0), false);
  assert.equal(decide({ not: top }, [], 0), true);
  assert.equal(decide({ type: 'trait', trait: 'vip', op: 'eq', value: true }, [], 0, { vip: true }), true);
});
