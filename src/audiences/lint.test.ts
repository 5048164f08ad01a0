import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lintAudiences } from './lint.ts';
import type { AudienceDefinition } from './schema.ts';
import { loadExampleAudiences } from './testing/examples.ts';
import { validateAudiences } from './validate.ts';

function definitions(...audiences: Record<string, unknown>[]): AudienceDefinition[] {
  const raw = audiences.map((a, i) => ({
    key: `a${i}`,
    name: `CI | A${i}`,
    purpose: 'p',
    channels: [],
    ttl: '1d',
    ...a,
  }));
  const result = validateAudiences(raw, { order: 'file' });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error.problems));
  return result.value;
}
const codes = (defs: AudienceDefinition[], options = {}) =>
  lintAudiences(defs, options).map((w) => `${w.code} ${w.at}`);

const cart = { type: 'event', event: 'Product Added', within: '4h' };

test('an intent audience without a conversion exclusion is flagged, with the fix', () => {
  const [warning, ...rest] = lintAudiences(definitions({ condition: cart }));
  assert.equal(rest.length, 0);
  assert.equal(warning?.code, 'intent_without_conversion_exclusion');
  assert.equal(warning?.at, 'audiences[0].condition');
  assert.match(warning?.message ?? '', /a0: intent audience \(Product Added within 4h\)/);
  assert.match(warning?.hint ?? '', /since_last, event: Order Completed, since: Product Added/);
});

test('any common exclusion shape satisfies it', () => {
  const exclusions = [
    { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
    { not: { type: 'event', event: 'Order Completed', within: '24h' } },
    { type: 'event', event: 'Order Completed', count: { eq: 0 }, within: '24h' },
    { type: 'since_last', event: 'Product Added', since: 'Order Completed' },
    { not: { type: 'in_audience', audience: 'a1' } },
  ];
  for (const exclusion of exclusions) {
    const defs = definitions(
      { condition: { all: [cart, exclusion] } },
      { condition: { type: 'event', event: 'Order Completed', within: '7d' } },
    );
    assert.deepEqual(codes(defs), [], JSON.stringify(exclusion));
  }
});

test('conversion events are configurable; conversions and refunds themselves are not intent', () => {
  const checkout = { type: 'last', event: 'Checkout Started', within: '24h' };
  const exclusion = { not: { type: 'event', event: 'Subscription Started', within: '1d' } };
  assert.deepEqual(
    codes(definitions({ condition: { all: [checkout, exclusion] } }), {
      conversionEvents: ['Subscription Started'],
    }),
    [],
  );
  assert.equal(codes(definitions({ condition: { all: [checkout, exclusion] } })).length, 1);
  assert.deepEqual(
    codes(definitions({ condition: { type: 'event', event: 'Order Refunded', within: '90d' } })),
    [],
  );
  assert.deepEqual(
    codes(definitions({ condition: { type: 'last', event: 'Order Completed', between: ['60d', '120d'] } })),
    [],
  );
});

test('an audience nobody can ever leave is flagged unless its ttl says it is permanent', () => {
  const lifetime = { type: 'event', event: 'Order Completed', count: { gte: 2 } };
  assert.deepEqual(codes(definitions({ condition: lifetime })), [
    'audience_never_exits audiences[0].condition',
  ]);
  assert.deepEqual(codes(definitions({ condition: lifetime, ttl: 'none' })), []);
  const big = {
    type: 'aggregate',
    event: 'Order Completed',
    fn: 'sum',
    property: 'revenue',
    compare: { gte: 500 },
  };
  assert.deepEqual(codes(definitions({ condition: { all: [lifetime, big] } })), [
    'audience_never_exits audiences[0].condition',
  ]);
  // Each of these has a way out: a window, a negation, a falling average, or a trait.
  for (const exit of [
    { type: 'last', event: 'Order Completed', olderThan: '45d' },
    { not: { type: 'event', event: 'Order Refunded' } },
    { type: 'aggregate', event: 'Order Completed', fn: 'avg', property: 'revenue', compare: { gte: 75 } },
    { type: 'trait', trait: 'vip', op: 'eq', value: true },
  ]) {
    assert.deepEqual(codes(definitions({ condition: { all: [lifetime, exit] } })), [], JSON.stringify(exit));
  }
});

test('names must follow the convention; the pattern is configurable', () => {
  const defs = definitions({
    name: 'cart abandoners',
    condition: { type: 'trait', trait: 'x', op: 'exists' },
  });
  assert.deepEqual(codes(defs), ['name_convention audiences[0].name']);
  assert.deepEqual(codes(defs, { namePattern: /^[a-z ]+$/ }), []);
});

test('more synced audiences than a team can use', () => {
  const synced = Array.from({ length: 9 }, () => ({
    condition: { type: 'trait', trait: 'x', op: 'exists' },
    destinations: [{ kind: 'cordial' }],
  }));
  assert.deepEqual(codes(definitions(...synced)), ['too_many_synced_audiences audiences']);
  assert.deepEqual(codes(definitions(...synced.slice(1))), []);
  assert.deepEqual(codes(definitions(...synced), { maxSyncedAudiences: 9 }), []);
});

test('the reference audiences: only the two browse audiences the spec leaves without an exclusion', () => {
  assert.deepEqual(codes(loadExampleAudiences('file')), [
    'intent_without_conversion_exclusion audiences[7].condition',
    'intent_without_conversion_exclusion audiences[8].condition',
  ]);
});
