import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import type { AudienceProblem } from './validate.ts';
import { validateAudiences } from './validate.ts';

const H = 3_600_000;
const D = 24 * H;

const audience = (key: string, condition: unknown, extra: Record<string, unknown> = {}) => ({
  key,
  name: `CI | ${key}`,
  purpose: 'test',
  channels: ['email'],
  ttl: '1d',
  condition,
  ...extra,
});

function problems(input: unknown): AudienceProblem[] {
  const result = validateAudiences(input);
  assert.equal(result.ok, false, 'expected problems');
  return result.ok ? [] : result.error.problems;
}

test('parses every condition kind as written in YAML, durations to milliseconds', () => {
  const yaml = `
- key: every_kind
  name: CI | Every Kind
  purpose: exercise the schema
  channels: [email, sms]
  ttl: 4h
  holdout: 10
  condition:
    all:
      - { type: event, event: Product Viewed, where: [{ property: category, op: eq, value: Skincare }], count: { gte: 2 }, within: 30d }
      - { type: event, event: Product Added, between: [4h, 24h] }
      - { type: last, event: Order Completed, olderThan: 45d }
      - not: { type: since_last, event: Order Completed, since: Product Added }
      - { type: since_last, event: Order Completed, since: { event: Checkout Started, where: [{ property: step, op: exists }] } }
      - { type: aggregate, event: Order Completed, fn: avg, property: revenue, compare: { gte: 75 }, within: 90d }
      - { type: trait, trait: unsubscribed, op: eq, value: true }
      - { type: in_audience, audience: every_kind_helper }
      - any:
          - { type: top_percent, percent: 10, event: Order Completed, fn: sum, property: revenue }
- key: every_kind_helper
  name: CI | Helper
  purpose: referenced
  channels: []
  ttl: none
  condition: { type: trait, trait: tier, op: in, value: [gold, vip] }
`;
  const result = validateAudiences(parse(yaml));
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error.problems));
  const [helper, everyKind] = result.value;
  assert.equal(helper?.key, 'every_kind_helper', 'referenced audiences come first');
  assert.equal(helper?.ttl, null);
  assert.equal(everyKind?.ttl, 4 * H);
  assert.equal(everyKind?.activationDelay, 0);
  assert.equal(everyKind?.cadence, 'realtime');
  assert.equal(everyKind?.priority, 0);
  const condition = everyKind?.condition;
  assert.equal(condition?.type, 'all');
  if (condition?.type !== 'all') return;
  assert.deepEqual(condition.all[0], {
    type: 'event',
    event: 'Product Viewed',
    where: [{ property: 'category', op: 'eq', value: 'Skincare' }],
    count: { op: 'gte', value: 2 },
    within: 30 * D,
  });
  assert.deepEqual(condition.all[1], { type: 'event', event: 'Product Added', between: [4 * H, 24 * H] });
  assert.deepEqual(condition.all[3], {
    type: 'not',
    not: { type: 'since_last', event: 'Order Completed', since: { event: 'Product Added' } },
  });
  assert.deepEqual(condition.all[4], {
    type: 'since_last',
    event: 'Order Completed',
    since: { event: 'Checkout Started', where: [{ property: 'step', op: 'exists', value: true }] },
  });
  assert.equal(condition.all[8]?.type, 'any');
});

test('a bad duration deep in a condition names its path and how to write it', () => {
  const [problem, ...rest] = problems([
    audience('a', { type: 'trait', trait: 't', op: 'exists' }),
    audience('b', {
      all: [
        { type: 'event', event: 'X' },
        { type: 'event', event: 'X', within: '4 hours' },
      ],
    }),
  ]);
  assert.equal(rest.length, 0);
  assert.equal(problem?.at, 'audiences[1].condition.all[1].within');
  assert.match(problem?.message ?? '', /invalid duration "4 hours"/);
  assert.match(problem?.hint ?? '', /4h, 7d or 1h30m/);
});

test('unknown and missing condition types list the valid ones', () => {
  const found = problems([audience('a', { any: [{ type: 'events', event: 'X' }, { event: 'X' }] })]);
  assert.deepEqual(
    found.map((p) => [p.at, p.message]),
    [
      ['audiences[0].condition.any[0].type', '"events" is not a condition type'],
      ['audiences[0].condition.any[1].type', 'missing type'],
    ],
  );
  assert.match(
    found[0]?.hint ?? '',
    /event, last, since_last, aggregate, trait, in_audience, top_percent, all, any, not/,
  );
});

test('a misspelt field is an error, not silently ignored', () => {
  const [problem] = problems([audience('a', { type: 'last', event: 'X', olderthan: '45d' })]);
  assert.deepEqual(
    problems([audience('a', { type: 'event', event: 'X', whithin: '4h' })]).map((p) => [p.at, p.message]),
    [['audiences[0].condition', 'unknown field whithin']],
  );
  assert.ok(problem, 'last without a window and with a misspelt olderThan is rejected');
});

test('shape rules: bands ordered, one comparison, one window, property for sums, key format, condition xor source', () => {
  const cases: [unknown, string, RegExp][] = [
    [
      audience('a', { type: 'event', event: 'X', between: ['24h', '4h'] }),
      'audiences[0].condition.between',
      /A shorter than B/,
    ],
    [
      audience('a', { type: 'event', event: 'X', count: { gte: 1, lte: 3 } }),
      'audiences[0].condition.count',
      /exactly one/,
    ],
    [
      audience('a', { type: 'event', event: 'X', within: '1h', between: ['1h', '2h'] }),
      'audiences[0].condition',
      /not both/,
    ],
    [
      audience('a', { type: 'last', event: 'X' }),
      'audiences[0].condition',
      /exactly one of within, between, olderThan/,
    ],
    [
      audience('a', { type: 'aggregate', event: 'X', fn: 'sum', compare: { gt: 1 } }),
      'audiences[0].condition',
      /property/,
    ],
    [
      audience('a', { type: 'event', event: 'X', within: '0s' }),
      'audiences[0].condition.within',
      /longer than zero/,
    ],
    [
      audience('a', { type: 'trait', trait: 't', op: 'in', value: 'gold' }),
      'audiences[0].condition.value',
      /array/,
    ],
    [
      audience('a', { type: 'trait', trait: 't', op: 'like', value: 'g' }),
      'audiences[0].condition.op',
      /"like" is not an operator/,
    ],
    [audience('Cart', { type: 'event', event: 'X' }), 'audiences[0].key', /lowercase/],
    [
      audience('a', { type: 'event', event: 'X' }, { ttl: 'forever' }),
      'audiences[0].ttl',
      /invalid duration "forever"/,
    ],
    [
      audience('a', { type: 'event', event: 'X' }, { source: { customerio: { segmentId: 3 } } }),
      'audiences[0]',
      /condition or a source/,
    ],
    [
      audience('a', undefined, { source: { customerio: { segmentId: 'vip' } } }),
      'audiences[0].source.customerio.segmentId',
      /segment number/,
    ],
    [
      audience('a', undefined, { source: { kind: 'customerio' } }),
      'audiences[0].source.customerio',
      /missing customerio/,
    ],
    [audience('a', undefined), 'audiences[0]', /condition or a source/],
  ];
  for (const [input, at, message] of cases) {
    const [problem] = problems([input]);
    assert.equal(problem?.at, at, JSON.stringify(input));
    assert.match(problem?.message ?? '', message, JSON.stringify(input));
    assert.ok((problem?.hint ?? '').length > 0);
  }
});

test('keys are unique and references resolve', () => {
  const found = problems([
    audience('a', { type: 'in_audience', audience: 'missing' }),
    audience('a', { type: 'event', event: 'X' }),
  ]);
  assert.deepEqual(
    found.map((p) => [p.code, p.at, p.message]),
    [
      ['duplicate_audience_key', 'audiences[1].key', 'duplicate audience key a (also audiences[0])'],
      [
        'unknown_audience_reference',
        'audiences[0].condition.audience',
        'references unknown audience missing',
      ],
    ],
  );
});

test('a reference cycle is named along its path', () => {
  const found = problems([
    audience('a', {
      all: [
        { type: 'event', event: 'X' },
        { type: 'in_audience', audience: 'b' },
      ],
    }),
    audience('b', { not: { type: 'in_audience', audience: 'a' } }),
    audience('c', { type: 'in_audience', audience: 'c' }),
  ]);
  assert.deepEqual(
    found.map((p) => [p.code, p.at, p.message]),
    [
      [
        'audience_cycle',
        'audiences[0].condition.all[1].audience',
        'audiences reference each other in a cycle: a → b → a',
      ],
      [
        'audience_cycle',
        'audiences[2].condition.audience',
        'audiences reference each other in a cycle: c → c',
      ],
    ],
  );
});

test('returns audiences in dependency order, or in file order when asked', () => {
  const input = [
    audience('promo', {
      all: [{ type: 'in_audience', audience: 'winback' }, { not: { type: 'in_audience', audience: 'vip' } }],
    }),
    audience('vip', { type: 'trait', trait: 'vip', op: 'eq', value: true }),
    audience('winback', { type: 'last', event: 'Order Completed', between: ['60d', '120d'] }),
  ];
  const ordered = validateAudiences(input);
  assert.deepEqual(ordered.ok && ordered.value.map((d) => d.key), ['winback', 'vip', 'promo']);
  const asWritten = validateAudiences(input, { order: 'file' });
  assert.deepEqual(asWritten.ok && asWritten.value.map((d) => d.key), ['promo', 'vip', 'winback']);
});

test('not a list at all', () => {
  const result = validateAudiences({ cart: {} });
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.error.problems[0]?.at, 'audiences');
});
