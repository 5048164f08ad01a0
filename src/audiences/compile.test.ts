import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAudiences, type CompiledAudiences } from './compile.ts';
import type { AudienceEvent } from './filters.ts';
import type { EvaluationContext, Explanation } from './nodes.ts';
import type { AudienceDefinition } from './schema.ts';
import type { ProfileState } from './trackers.ts';
import { validateAudiences } from './validate.ts';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const T0 = Date.UTC(2026, 4, 1, 21, 10);

function compile(...audiences: Record<string, unknown>[]): CompiledAudiences {
  const raw = audiences.map((a, i) => ({
    key: `a${i}`,
    name: `CI | A${i}`,
    purpose: 'p',
    channels: [],
    ttl: '1d',
    ...a,
  }));
  const result = validateAudiences(raw);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.error.problems));
  return compileAudiences(result.value);
}

let seq = 0;
const event = (name: string, timestamp: number, properties: Record<string, unknown> = {}): AudienceEvent => ({
  id: `e${seq++}`,
  name,
  timestamp,
  properties,
});

const noTraits: EvaluationContext = { trait: () => undefined, topPercentThreshold: () => undefined };

function feed(compiled: CompiledAudiences, events: [AudienceEvent, number][]): ProfileState {
  return events.reduce((state, [e, now]) => compiled.applyEvent(state, e, now), compiled.emptyState());
}
/** Whether `key` (default a0) holds for state `s` at `now` under `c`, in context `ctx` (no traits by default). */
interface MemberQuery {
  c: CompiledAudiences;
  s: ProfileState;
  now: number;
  key?: string;
  ctx?: EvaluationContext;
}

const member = ({ c, s, now, key = 'a0', ctx = noTraits }: MemberQuery) =>
  c.evaluate(s, ctx, now).audiences.get(key);

test('event ≥ N within W: in while N are younger than W, out when the Nth oldest ages out', () => {
  const c = compile({
    condition: { type: 'event', event: 'Product Viewed', count: { gte: 2 }, within: '30m' },
  });
  const s = feed(c, [
    [event('Product Viewed', T0), T0],
    [event('Product Viewed', T0 + 10 * MIN), T0 + 10 * MIN],
    [event('Product Viewed', T0 + 20 * MIN), T0 + 20 * MIN],
  ]);
  assert.deepEqual(member({ c, s, now: T0 + 20 * MIN }), { member: true, nextChangeAt: T0 + 40 * MIN });
  assert.deepEqual(member({ c, s, now: T0 + 40 * MIN - 1 }), { member: true, nextChangeAt: T0 + 40 * MIN });
  assert.deepEqual(member({ c, s, now: T0 + 40 * MIN }), { member: false, nextChangeAt: null });
  assert.equal(Object.values(s.trackers).flat().length, 2, 'keeps only the latest two timestamps');
});

test('event at most N within W comes back in when enough age out', () => {
  const c = compile({
    condition: { type: 'event', event: 'Product Viewed', count: { lte: 1 }, within: '30m' },
  });
  const s = feed(c, [
    [event('Product Viewed', T0), T0],
    [event('Product Viewed', T0 + 5 * MIN), T0 + 5 * MIN],
  ]);
  assert.deepEqual(member({ c, s, now: T0 + 5 * MIN }), { member: false, nextChangeAt: T0 + 30 * MIN });
  assert.deepEqual(member({ c, s, now: T0 + 30 * MIN }), { member: true, nextChangeAt: null });
});

test('event in an age band enters at A and leaves at B', () => {
  const c = compile({ condition: { type: 'event', event: 'Product Added', between: ['4h', '24h'] } });
  const s = feed(c, [[event('Product Added', T0), T0]]);
  assert.deepEqual(member({ c, s, now: T0 }), { member: false, nextChangeAt: T0 + 4 * H });
  assert.deepEqual(member({ c, s, now: T0 + 4 * H }), { member: true, nextChangeAt: T0 + 24 * H });
  assert.deepEqual(member({ c, s, now: T0 + 24 * H }), { member: false, nextChangeAt: null });
});

test('a slightly-future timestamp counts as within, and enters a [0, B) band only when its time comes', () => {
  const c = compile(
    { condition: { type: 'event', event: 'Product Added', within: '4h' } },
    { condition: { type: 'event', event: 'Product Added', between: ['0s', '4h'] } },
  );
  const s = feed(c, [[event('Product Added', T0 + MIN), T0]]);
  assert.deepEqual(member({ c, s, now: T0, key: 'a0' }), { member: true, nextChangeAt: T0 + MIN + 4 * H });
  assert.deepEqual(member({ c, s, now: T0, key: 'a1' }), { member: false, nextChangeAt: T0 + MIN });
});

test('last: latest by timestamp, never by arrival; olderThan turns true on its own and false on a new event', () => {
  const c = compile({ condition: { type: 'last', event: 'Order Completed', olderThan: '45d' } });
  let s = feed(c, [
    [event('Order Completed', T0), T0],
    [event('Order Completed', T0 - 10 * D), T0 + D],
  ]);
  assert.deepEqual(member({ c, s, now: T0 + D }), { member: false, nextChangeAt: T0 + 45 * D });
  assert.deepEqual(member({ c, s, now: T0 + 45 * D }), { member: true, nextChangeAt: null });
  s = c.applyEvent(s, event('Order Completed', T0 + 50 * D), T0 + 50 * D);
  assert.deepEqual(member({ c, s, now: T0 + 50 * D }), { member: false, nextChangeAt: T0 + 95 * D });
});

test('since_last: B at or after the latest A, whatever order they arrive in', () => {
  const c = compile({ condition: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } });
  const added = event('Product Added', T0);
  assert.equal(member({ c, s: feed(c, []), now: T0 })?.member, false, 'no A: false');
  assert.equal(member({ c, s: feed(c, [[added, T0]]), now: T0 })?.member, false);
  assert.equal(
    member({
      c,
      s: feed(c, [
        [added, T0],
        [event('Order Completed', T0), T0],
      ]),
      now: T0,
    })?.member,
    true,
    'same instant counts',
  );
  assert.equal(
    member({
      c,
      s: feed(c, [
        [added, T0],
        [event('Order Completed', T0 - 1), T0],
      ]),
      now: T0,
    })?.member,
    false,
    'late, older B',
  );
  assert.equal(
    member({
      c,
      s: feed(c, [
        [event('Order Completed', T0 + H), T0],
        [added, T0 + H],
      ]),
      now: T0 + H,
    })?.member,
    true,
  );
});

test('aggregates: lifetime running stats and windowed values that expire', () => {
  const c = compile(
    {
      condition: {
        type: 'aggregate',
        event: 'Order Completed',
        fn: 'avg',
        property: 'revenue',
        compare: { gte: 75 },
      },
    },
    {
      condition: {
        type: 'aggregate',
        event: 'Order Completed',
        fn: 'sum',
        property: 'revenue',
        compare: { gte: 100 },
        within: '30d',
      },
    },
    {
      condition: {
        type: 'aggregate',
        event: 'Order Completed',
        fn: 'min',
        property: 'revenue',
        compare: { lt: 60 },
        within: '30d',
      },
    },
  );
  const s = feed(c, [
    [event('Order Completed', T0, { revenue: 50 }), T0],
    [event('Order Completed', T0 + D, { revenue: '110' }), T0 + D],
    [event('Order Completed', T0 + D, { revenue: 'n/a' }), T0 + D],
  ]);
  const at = (now: number) =>
    Object.fromEntries([...c.evaluate(s, noTraits, now).audiences].map(([k, r]) => [k, r]));
  assert.deepEqual(at(T0 + D), {
    a0: { member: true, nextChangeAt: null },
    // The 50 leaving at 30d still leaves 110: the sum only drops below 100 when the 110 leaves.
    a1: { member: true, nextChangeAt: T0 + 31 * D },
    a2: { member: true, nextChangeAt: T0 + 30 * D },
  });
  assert.deepEqual(at(T0 + 30 * D), {
    a0: { member: true, nextChangeAt: null },
    a1: { member: true, nextChangeAt: T0 + 31 * D },
    a2: { member: false, nextChangeAt: null },
  });
});

test('traits come from the context; in_audience reads this same pass, sources from the context', () => {
  const c = compile(
    {
      key: 'promo',
      condition: {
        all: [
          { type: 'in_audience', audience: 'recent' },
          { not: { type: 'in_audience', audience: 'unsub' } },
        ],
      },
    },
    { key: 'unsub', condition: { type: 'trait', trait: 'unsubscribed', op: 'eq', value: true } },
    { key: 'recent', condition: { type: 'event', event: 'Order Completed', within: '7d' } },
    { key: 'cio_vip', source: { customerio: { segmentId: 12 } } },
    { key: 'cio_promo', condition: { type: 'in_audience', audience: 'cio_vip' } },
  );
  assert.deepEqual(c.keys, ['recent', 'unsub', 'promo', 'cio_promo']);
  const s = feed(c, [[event('Order Completed', T0), T0]]);
  const traits = (unsubscribed: boolean): EvaluationContext => ({
    ...noTraits,
    trait: (n) => (n === 'unsubscribed' ? unsubscribed : undefined),
  });
  assert.deepEqual(member({ c, s, now: T0, key: 'promo', ctx: traits(false) }), {
    member: true,
    nextChangeAt: T0 + 7 * D,
  });
  assert.equal(member({ c, s, now: T0, key: 'promo', ctx: traits(true) })?.member, false);
  assert.equal(member({ c, s, now: T0 + 7 * D, key: 'promo', ctx: traits(false) })?.member, false);
  assert.equal(member({ c, s, now: T0, key: 'cio_promo' })?.member, false);
  assert.equal(
    member({ c, s, now: T0, key: 'cio_promo', ctx: { ...noTraits, sourceMember: (k) => k === 'cio_vip' } })
      ?.member,
    true,
  );
  assert.deepEqual(c.relevantAudiences('Order Completed'), ['recent', 'promo']);
  assert.deepEqual(c.relevantAudiences('Page Viewed'), []);
  assert.deepEqual(c.audiencesUsingTrait('unsubscribed'), ['unsub', 'promo']);
});

test('top_percent: the score is exposed for ranking; membership compares it with the injected threshold', () => {
  const c = compile({
    condition: { type: 'top_percent', percent: 10, event: 'Order Completed', fn: 'sum', property: 'revenue' },
  });
  assert.deepEqual(c.topPercentRankings, [{ conditionId: 'a0/condition', audience: 'a0', percent: 10 }]);
  const s = feed(c, [
    [event('Order Completed', T0, { revenue: 120 }), T0],
    [event('Order Completed', T0, { revenue: 80 }), T0],
  ]);
  assert.equal(c.scoreFor(s, 'a0/condition'), 200);
  assert.equal(c.scoreFor(c.emptyState(), 'a0/condition'), undefined, 'no orders: no rank, not zero');
  const threshold = (t: number | undefined): EvaluationContext => ({
    ...noTraits,
    topPercentThreshold: () => t,
  });
  assert.equal(member({ c, s, now: T0, key: 'a0', ctx: threshold(200) })?.member, true);
  assert.equal(member({ c, s, now: T0, key: 'a0', ctx: threshold(201) })?.member, false);
  assert.equal(member({ c, s, now: T0, key: 'a0', ctx: threshold(undefined) })?.member, false);
});

test('all pins to no next change when a false child cannot change by time', () => {
  const c = compile({
    condition: {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { type: 'trait', trait: 'vip', op: 'eq', value: true },
      ],
    },
  });
  const s = feed(c, [[event('Product Added', T0), T0]]);
  assert.deepEqual(c.evaluate(s, noTraits, T0), {
    audiences: new Map([['a0', { member: false, nextChangeAt: null }]]),
    nextChangeAt: null,
  });
});

function render(e: Explanation, depth = 0): string[] {
  return [`${'  '.repeat(depth)}${e.text}`, ...e.children.flatMap((child) => render(child, depth + 1))];
}

test('explain says why, in operator words, with times', () => {
  const c = compile({
    name: 'CI | Cart | 0-4h | No Purchase',
    condition: {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
        {
          type: 'event',
          event: 'Product Viewed',
          where: [{ property: 'category', op: 'eq', value: 'Skincare' }],
          count: { gte: 2 },
          within: '30d',
        },
      ],
    },
  });
  const s = feed(c, [
    [event('Product Viewed', T0 - H, { category: 'Skincare' }), T0 - H],
    [event('Product Added', T0), T0],
  ]);
  const explained = c.explain(s, noTraits, T0 + H, 'a0');
  assert.ok(explained.ok);
  assert.deepEqual(render(explained.value), [
    'CI | Cart | 0-4h | No Purchase (a0): no',
    '  all of: no',
    '    Product Added within 4h: yes (last at 2026-05-01T21:10:00Z, leaves at 2026-05-02T01:10:00Z)',
    '    no Order Completed since last Product Added: yes (would end on Order Completed)',
    '    Product Viewed where category = Skincare ≥ 2 times within 30d: no (1 in window, last at 2026-05-01T20:10:00Z)',
  ]);
  assert.deepEqual(c.explain(s, noTraits, T0, 'nope'), {
    ok: false,
    error: { code: 'unknown_audience', message: 'no audience with key nope has a condition', at: 'nope' },
  });
});

test('a reference cycle cannot be compiled', () => {
  const defs = [
    { key: 'a', condition: { type: 'in_audience', audience: 'b' } },
    { key: 'b', condition: { type: 'in_audience', audience: 'a' } },
  ] as unknown as AudienceDefinition[];
  assert.throws(() => compileAudiences(defs), /cycle: a → b → a/);
});
