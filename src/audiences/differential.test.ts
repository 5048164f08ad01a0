// The compiled evaluator (compact state, pruning, next-change wake-ups) must produce exactly
// the enter/exit timeline a brute-force evaluator gets from the raw events, for random event
// streams (late, out of order, slightly in the future) and random or reference definitions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileAudiences } from './compile.ts';
import type { AudienceDefinition } from './schema.ts';
import type { ProfileState } from './trackers.ts';
import { loadExampleAudiences } from './testing/examples.ts';
import {
  assertPointwiseAgreement,
  compiledTimeline,
  durationsOf,
  referenceTimeline,
  type Arrival,
  type Change,
  type Scenario,
} from './testing/simulate.ts';
import { validateAudiences } from './validate.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const EPOCH = Date.UTC(2026, 0, 1);
const EVENT_NAMES = [
  'Product Added',
  'Product Viewed',
  'Order Completed',
  'Checkout Started',
  'Order Refunded',
];

// ---- random definitions, written as in handoff.yaml and run through validation ----

const duration = fc.constantFrom('1m', '2m', '5m', '10m');
const band = fc
  .uniqueArray(fc.constantFrom('0s', '1m', '2m', '5m', '10m'), { minLength: 2, maxLength: 2 })
  .map((pair) => pair.sort((a, b) => parseInt(a) - parseInt(b)));

const filter = fc.oneof(
  fc.record({
    property: fc.constant('category'),
    op: fc.constantFrom('eq', 'neq'),
    value: fc.constantFrom('Skincare', 'Makeup'),
  }),
  fc.record({
    property: fc.constant('category'),
    op: fc.constant('in'),
    value: fc.constant(['Skincare', 'Makeup']),
  }),
  fc.record({
    property: fc.constant('revenue'),
    op: fc.constantFrom('gt', 'gte', 'lt', 'lte'),
    value: fc.constantFrom(50, 75, 100),
  }),
  fc.record({ property: fc.constant('product_id'), op: fc.constant('exists'), value: fc.boolean() }),
  fc.record({
    property: fc.constant('product.sku'),
    op: fc.constant('contains'),
    value: fc.constant('bundle'),
  }),
);
const matcher = fc.record(
  { event: fc.constantFrom(...EVENT_NAMES), where: fc.array(filter, { minLength: 1, maxLength: 2 }) },
  { requiredKeys: ['event'] },
);
const comparison = (values: fc.Arbitrary<number>) =>
  fc.tuple(fc.constantFrom('gt', 'gte', 'lt', 'lte', 'eq', 'neq'), values).map(([op, n]) => ({ [op]: n }));
const scope = fc.oneof(
  fc.constant({}),
  duration.map((within) => ({ within })),
  band.map((between) => ({ between })),
);

const eventNode = fc
  .tuple(matcher, fc.option(comparison(fc.integer({ min: 0, max: 3 })), { nil: undefined }), scope)
  .map(([m, count, s]) => ({ type: 'event', ...m, ...(count ? { count } : {}), ...s }));
const lastNode = fc
  .tuple(
    matcher,
    fc.oneof(
      duration.map((within) => ({ within })),
      band.map((between) => ({ between })),
      duration.map((olderThan) => ({ olderThan })),
    ),
  )
  .map(([m, s]) => ({ type: 'last', ...m, ...s }));
const sinceLastNode = fc
  .tuple(matcher, fc.oneof(fc.constantFrom(...EVENT_NAMES), matcher))
  .map(([m, since]) => ({ type: 'since_last', ...m, since }));
const aggregateNode = fc
  .tuple(
    matcher,
    fc.constantFrom('count', 'sum', 'avg', 'min', 'max'),
    comparison(fc.constantFrom(0, 1, 2, 50, 75, 100, 150)),
    fc.option(duration, { nil: undefined }),
  )
  .map(([m, fn, compare, within]) => ({
    type: 'aggregate',
    ...m,
    fn,
    property: 'revenue',
    compare,
    ...(within ? { within } : {}),
  }));
const traitNode = fc.constantFrom(
  { type: 'trait', trait: 'unsubscribed', op: 'eq', value: true },
  { type: 'trait', trait: 'tier', op: 'in', value: ['gold', 'vip'] },
  { type: 'trait', trait: 'tier', op: 'exists' },
);
const topPercentNode = fc
  .constantFrom('count', 'sum', 'avg', 'max')
  .map((fn) => ({ type: 'top_percent', percent: 10, event: 'Order Completed', fn, property: 'revenue' }));
// Resolved to an earlier audience once the list exists, so references are always acyclic.
const inAudienceNode = fc.nat(10).map((ref) => ({ type: 'in_audience', ref }));

const leaf = fc.oneof(
  eventNode,
  lastNode,
  sinceLastNode,
  aggregateNode,
  traitNode,
  topPercentNode,
  inAudienceNode,
);
const { condition } = fc.letrec<{ condition: unknown }>((tie) => ({
  condition: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    leaf,
    leaf,
    fc.array(tie('condition'), { minLength: 1, maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('condition'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('condition').map((not) => ({ not })),
  ),
}));

function resolveReferences(node: unknown, index: number): unknown {
  if (Array.isArray(node)) return node.map((child) => resolveReferences(child, index));
  if (typeof node !== 'object' || node === null) return node;
  if ('ref' in node && typeof node.ref === 'number') {
    return index === 0
      ? { type: 'trait', trait: 'unsubscribed', op: 'eq', value: true }
      : { type: 'in_audience', audience: `a${node.ref % index}` };
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, resolveReferences(v, index)]));
}

const randomAudiences = fc.array(condition, { minLength: 1, maxLength: 4 }).map((conditions) =>
  conditions.map((c, i) => ({
    key: `a${i}`,
    name: `T | Audience ${i}`,
    purpose: 'property test',
    channels: [],
    ttl: 'none',
    condition: resolveReferences(c, i),
  })),
);

function validated(raw: unknown): AudienceDefinition[] {
  const result = validateAudiences(raw);
  if (!result.ok)
    assert.fail(`generated definitions are invalid: ${JSON.stringify(result.error.problems, null, 2)}`);
  return result.value;
}

// ---- random arrivals ----

const properties = fc.record(
  {
    category: fc.constantFrom('Skincare', 'Makeup'),
    revenue: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.constantFrom('80', 'n/a')),
    product_id: fc.constant('bundle-01'),
    collection: fc.constantFrom('new', 'old'),
    product: fc.record({ sku: fc.constantFrom('bundle-01', 'sku-7') }),
  },
  { requiredKeys: [] },
);
const traitChange = fc.oneof(
  fc.record({ name: fc.constant('unsubscribed'), value: fc.boolean() }),
  fc.record({ name: fc.constant('tier'), value: fc.constantFrom('gold', 'silver', undefined) }),
);

interface Timing {
  gaps: fc.Arbitrary<number>;
  lateness: fc.Arbitrary<number>;
}

function arrivals(timing: Timing, names: string[]): fc.Arbitrary<Arrival[]> {
  const one = fc.record({
    gap: timing.gaps,
    lateness: timing.lateness,
    what: fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .record({ name: fc.constantFrom(...names), properties })
          .map((e) => ({ kind: 'event' as const, ...e })),
      },
      { weight: 1, arbitrary: traitChange.map((t) => ({ kind: 'trait' as const, ...t })) },
    ),
  });
  return fc.array(one, { minLength: 1, maxLength: 25 }).map((items) => {
    let at = EPOCH;
    return items.map(({ gap, lateness, what }, i): Arrival => {
      at += gap;
      if (what.kind === 'trait') return { at, kind: 'trait', name: what.name, value: what.value };
      return {
        at,
        kind: 'event',
        event: { id: `e${i}`, name: what.name, timestamp: at - lateness, properties: what.properties },
      };
    });
  });
}

const minuteTiming: Timing = {
  // Arrivals and lateness on a 30s grid collide with window edges; the odd millisecond probes off-by-ones.
  gaps: fc.oneof(
    fc.constantFrom(0, 30 * SECOND, MINUTE, 2 * MINUTE, 5 * MINUTE),
    fc.integer({ min: 0, max: 3 * MINUTE }),
  ),
  lateness: fc.oneof(
    fc.constantFrom(0, 0, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, -30 * SECOND, 1, -1),
    fc.integer({ min: -MINUTE, max: 12 * MINUTE }),
  ),
};

const dayTiming: Timing = {
  gaps: fc.oneof(
    fc.constantFrom(
      0,
      MINUTE,
      HOUR,
      4 * HOUR,
      20 * HOUR,
      DAY,
      3 * DAY,
      7 * DAY,
      30 * DAY,
      45 * DAY,
      60 * DAY,
    ),
    fc.integer({ min: 0, max: 2 * DAY }),
  ),
  lateness: fc.oneof(
    fc.constantFrom(0, 0, 0, 4 * HOUR, DAY, 7 * DAY, 60 * DAY, -5 * MINUTE, 1),
    fc.integer({ min: -HOUR, max: 10 * DAY }),
  ),
};

// ---- the check ----

const byTimeThenAudience = (changes: Change[]) =>
  [...changes].sort(
    (a, b) => a.at - b.at || (a.audience < b.audience ? -1 : a.audience > b.audience ? 1 : 0),
  );

function checkScenario(definitions: AudienceDefinition[], stream: Arrival[], threshold: number): void {
  const compiled = compileAudiences(definitions);
  const last = stream[stream.length - 1]!.at;
  const scenario: Scenario = {
    definitions,
    arrivals: stream,
    // Long enough after the last arrival for every window to close.
    end: last + Math.max(...durationsOf(definitions)) * 2 + MINUTE,
    threshold: () => threshold,
  };
  assert.deepEqual(
    byTimeThenAudience(compiledTimeline(compiled, scenario)),
    byTimeThenAudience(referenceTimeline(scenario)),
  );
  assertPointwiseAgreement(compiled, scenario);
}

test('random definitions: compiled timeline equals the brute-force timeline', () => {
  fc.assert(
    fc.property(randomAudiences, arrivals(minuteTiming, EVENT_NAMES), (raw, stream) => {
      checkScenario(validated(raw), stream, 100);
    }),
    { numRuns: 400 },
  );
});

test('reference audiences: compiled timeline equals the brute-force timeline', () => {
  const definitions = loadExampleAudiences();
  fc.assert(
    fc.property(arrivals(dayTiming, EVENT_NAMES), fc.constantFrom(100, 250), (stream, threshold) => {
      checkScenario(definitions, stream, threshold);
    }),
    { numRuns: 150 },
  );
});

// ---- identity merges: two states combined, no history replayed ----

/** Values pairs with equal timestamps may sit in either order; nothing reads that order. */
const canonicalState = (state: ProfileState): string =>
  JSON.stringify(state, (_key, value: unknown) =>
    Array.isArray(value) && value.every((v) => Array.isArray(v))
      ? [...(value as [number, number][])].sort((x, y) => x[0] - y[0] || x[1] - y[1])
      : value,
  );

function checkMerge(
  definitions: AudienceDefinition[],
  stream: Arrival[],
  sides: boolean[],
  later: number,
): void {
  const compiled = compileAudiences(definitions);
  let together = compiled.emptyState();
  const apart = [compiled.emptyState(), compiled.emptyState()];
  stream.forEach((arrival, i) => {
    if (arrival.kind !== 'event') return;
    together = compiled.applyEvent(together, arrival.event, arrival.at);
    const side = sides[i % sides.length] ? 1 : 0;
    apart[side] = compiled.applyEvent(apart[side]!, arrival.event, arrival.at);
  });
  const now = stream[stream.length - 1]!.at + later;
  const merged = compiled.merge(apart[0]!, apart[1]!, now);
  assert.equal(canonicalState(merged), canonicalState(compiled.prune(together, now)));
  const ctx = { trait: () => undefined, topPercentThreshold: () => 100 };
  for (const d of [0, ...durationsOf(definitions)]) {
    for (const t of [now + d - 1, now + d, now + d + 1]) {
      if (t < now) continue;
      assert.deepEqual(compiled.evaluate(merged, ctx, t), compiled.evaluate(together, ctx, t));
    }
  }
  for (const r of compiled.topPercentRankings)
    assert.equal(compiled.scoreFor(merged, r.conditionId), compiled.scoreFor(together, r.conditionId));
}

const sides = fc.array(fc.boolean(), { minLength: 1, maxLength: 25 });

test('random definitions: merging two profiles states equals one profile folding all their events', () => {
  fc.assert(
    fc.property(
      randomAudiences,
      arrivals(minuteTiming, EVENT_NAMES),
      sides,
      fc.constantFrom(0, 1, MINUTE, 5 * MINUTE, 20 * MINUTE),
      (raw, stream, split, later) => checkMerge(validated(raw), stream, split, later),
    ),
    { numRuns: 300 },
  );
});

test('reference audiences: merging two profiles states equals one profile folding all their events', () => {
  const definitions = loadExampleAudiences();
  fc.assert(
    fc.property(
      arrivals(dayTiming, EVENT_NAMES),
      sides,
      fc.constantFrom(0, 1, HOUR, 4 * HOUR, DAY, 30 * DAY, 90 * DAY),
      (stream, split, later) => checkMerge(definitions, stream, split, later),
    ),
    { numRuns: 150 },
  );
});
