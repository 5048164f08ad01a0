// Audience definitions as written in handoff.yaml. Durations are written as text (`4h`) and
// parsed to milliseconds here, so everything downstream works in one unit.
import { z } from 'zod';
import { parseDuration } from '../shared/duration.ts';

const duration = (what: string, { allowZero = false } = {}) =>
  z.string({ error: `${what} must be a duration such as 4h or 7d` }).transform((text, ctx) => {
    const parsed = parseDuration(text);
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.error.message });
      return z.NEVER;
    }
    if (parsed.value === 0 && !allowZero) {
      ctx.addIssue({ code: 'custom', message: `${what} must be longer than zero` });
      return z.NEVER;
    }
    return parsed.value;
  });

/** `[A, B]`: A ≤ age < B, with A < B. */
const band = z
  .tuple([duration('the band start', { allowZero: true }), duration('the band end')])
  .refine(([from, to]) => from < to, { message: 'between [A, B] needs A shorter than B' });

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** A property or trait test: `op` decides what `value` must be. */
function compared<const S extends z.core.$ZodLooseShape>(shape: S) {
  return z.discriminatedUnion('op', [
    z.strictObject({ ...shape, op: z.enum(['eq', 'neq']), value: scalar }),
    z.strictObject({ ...shape, op: z.literal('in'), value: z.array(scalar).min(1) }),
    z.strictObject({
      ...shape,
      op: z.enum(['gt', 'gte', 'lt', 'lte']),
      value: z.union([z.number(), z.string()]),
    }),
    z.strictObject({ ...shape, op: z.literal('exists'), value: z.boolean().default(true) }),
    z.strictObject({
      ...shape,
      op: z.literal('contains'),
      value: z.union([z.string(), z.number(), z.boolean()]),
    }),
  ]);
}

export const NUMBER_OPS = ['gt', 'gte', 'lt', 'lte', 'eq', 'neq'] as const;
export type NumberOp = (typeof NUMBER_OPS)[number];
/** A number compared: `{ gte: 2 }` in YAML, `{ op: 'gte', value: 2 }` once parsed. */
export interface NumberComparison {
  op: NumberOp;
  value: number;
}

const numberComparison = (what: string, value: z.ZodNumber) =>
  z
    .strictObject(
      Object.fromEntries(NUMBER_OPS.map((op) => [op, value.optional()])) as Record<
        NumberOp,
        z.ZodOptional<z.ZodNumber>
      >,
    )
    .refine((written) => Object.values(written).filter((v) => v !== undefined).length === 1, {
      message: `${what} needs exactly one of ${NUMBER_OPS.join(', ')}, e.g. { gte: 2 }`,
    })
    .transform((written): NumberComparison => {
      const [op, n] = Object.entries(written).find(([, v]) => v !== undefined) as [NumberOp, number];
      return { op, value: n };
    });

export const filterSchema = compared({ property: z.string().min(1) });
/** A test on an event property; `property` may be a dotted path (`product.category`). */
export type PropertyFilter = z.output<typeof filterSchema>;
export type FilterOp = PropertyFilter['op'];

const matcherShape = { event: z.string().min(1), where: z.array(filterSchema).optional() };
const matcherSchema = z.strictObject(matcherShape);
/** Which events a condition looks at: a name plus optional property filters. */
export type EventMatcher = z.output<typeof matcherSchema>;

const exactlyOneOf = (keys: string[]) => (node: Record<string, unknown>) =>
  keys.filter((key) => node[key] !== undefined).length === 1;
const atMostOneOf = (keys: string[]) => (node: Record<string, unknown>) =>
  keys.filter((key) => node[key] !== undefined).length <= 1;

const eventCondition = z
  .strictObject({
    type: z.literal('event'),
    ...matcherShape,
    count: numberComparison('count', z.number().int().min(0)).optional(),
    within: duration('within').optional(),
    between: band.optional(),
  })
  .refine(atMostOneOf(['within', 'between']), {
    message: 'use within or between, not both (neither means all time)',
  });

const lastCondition = z
  .strictObject({
    type: z.literal('last'),
    ...matcherShape,
    within: duration('within').optional(),
    between: band.optional(),
    olderThan: duration('olderThan').optional(),
  })
  .refine(exactlyOneOf(['within', 'between', 'olderThan']), {
    message: 'a last condition needs exactly one of within, between, olderThan',
  });

const sinceLastCondition = z.strictObject({
  type: z.literal('since_last'),
  ...matcherShape,
  since: z.union([
    z
      .string()
      .min(1)
      .transform((event): EventMatcher => ({ event })),
    matcherSchema,
  ]),
});

export const AGGREGATE_FNS = ['count', 'sum', 'avg', 'min', 'max'] as const;
export type AggregateFn = (typeof AGGREGATE_FNS)[number];
const needsProperty = (node: { fn: AggregateFn; property?: string | undefined }) =>
  node.fn === 'count' || node.property !== undefined;
const propertyHint = {
  message: 'sum, avg, min and max need the numeric property to aggregate, e.g. property: revenue',
};

const aggregateCondition = z
  .strictObject({
    type: z.literal('aggregate'),
    ...matcherShape,
    fn: z.enum(AGGREGATE_FNS),
    property: z.string().min(1).optional(),
    compare: numberComparison('compare', z.number()),
    within: duration('within').optional(),
  })
  .refine(needsProperty, propertyHint);

const traitCondition = compared({ type: z.literal('trait'), trait: z.string().min(1) });

const inAudienceCondition = z.strictObject({ type: z.literal('in_audience'), audience: z.string().min(1) });

const topPercentCondition = z
  .strictObject({
    type: z.literal('top_percent'),
    percent: z.number().gt(0).max(100),
    ...matcherShape,
    fn: z.enum(AGGREGATE_FNS),
    property: z.string().min(1).optional(),
  })
  .refine(needsProperty, propertyHint);

export type EventCondition = z.output<typeof eventCondition>;
export type LastCondition = z.output<typeof lastCondition>;
export type SinceLastCondition = z.output<typeof sinceLastCondition>;
export type AggregateCondition = z.output<typeof aggregateCondition>;
export type TraitCondition = z.output<typeof traitCondition>;
export type InAudienceCondition = z.output<typeof inAudienceCondition>;
export type TopPercentCondition = z.output<typeof topPercentCondition>;
export interface AllCondition {
  type: 'all';
  all: Condition[];
}
export interface AnyCondition {
  type: 'any';
  any: Condition[];
}
export interface NotCondition {
  type: 'not';
  not: Condition;
}

/** One node of an audience's condition tree, discriminated on `type`. */
export type Condition =
  | EventCondition
  | LastCondition
  | SinceLastCondition
  | AggregateCondition
  | TraitCondition
  | InAudienceCondition
  | TopPercentCondition
  | AllCondition
  | AnyCondition
  | NotCondition;

/** `{ all: [...] }`, `{ any: [...] }` and `{ not: {...} }` read better without `type:`; fill it in. */
function inferCombinatorType(node: unknown): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node) || 'type' in node) return node;
  const keys = Object.keys(node);
  const only = keys.length === 1 ? keys[0] : undefined;
  return only === 'all' || only === 'any' || only === 'not' ? { type: only, ...node } : node;
}

export const conditionSchema: z.ZodType<Condition, unknown> = z.lazy(() =>
  z.preprocess(
    inferCombinatorType,
    z.discriminatedUnion('type', [
      eventCondition,
      lastCondition,
      sinceLastCondition,
      aggregateCondition,
      traitCondition,
      inAudienceCondition,
      topPercentCondition,
      z.strictObject({ type: z.literal('all'), all: z.array(conditionSchema).min(1) }),
      z.strictObject({ type: z.literal('any'), any: z.array(conditionSchema).min(1) }),
      z.strictObject({ type: z.literal('not'), not: conditionSchema }),
    ]),
  ),
);

const sourceSchema = z.strictObject({
  /** A Customer.io segment, mirrored by polling its membership and by campaign webhooks. */
  customerio: z.strictObject({
    segmentId: z.union(
      [
        z.number().int().positive(),
        z
          .string()
          .regex(/^[1-9][0-9]*$/)
          .transform(Number),
      ],
      { error: 'segmentId must be the segment number shown in Customer.io, such as 12' },
    ),
    /** The largest share of members (0–1) one poll may remove before it waits for confirmation. */
    maxRemovalShare: z.number().gt(0).max(1).optional(),
  }),
});
/** Where a sourced audience's membership comes from. */
export type AudienceSource = z.output<typeof sourceSchema>;

export const audienceSchema = z
  .strictObject({
    /** Stable identifier: state, memberships and destinations hang off it. */
    key: z.string().regex(/^[a-z0-9_]+$/, 'key must be lowercase letters, digits and underscores'),
    /** Operator name, e.g. `CI | Cart | 0-4h | No Purchase`. */
    name: z.string().min(1),
    purpose: z.string().min(1),
    /** Channels that act on the audience (email, sms, paid_social, onsite...). */
    channels: z.array(z.string().min(1)),
    /** Expected maximum stay, for stuck-member audits; `none` for lists people stay on (suppressions). */
    ttl: z.union([z.literal('none').transform(() => null), duration('ttl')]),
    condition: conditionSchema.optional(),
    /** Membership owned by an external source instead of a condition. */
    source: sourceSchema.optional(),
    /** Percentage of members (0–100) kept out of destinations as a control group. */
    holdout: z.number().min(0).max(100).optional(),
    /** How long a member must stay before destinations hear about it (ms once parsed). Default 0. */
    activationDelay: duration('activationDelay', { allowZero: true }).default(0),
    /** `realtime`, or a duration between syncs (ms once parsed). Default `realtime`. */
    cadence: z.union([z.literal('realtime'), duration('cadence')]).default('realtime'),
    /** Higher wins when destinations must choose between audiences. Default 0. */
    priority: z.number().int().default(0),
    destinations: z.array(z.unknown()).optional(),
  })
  .refine((audience) => (audience.condition === undefined) !== (audience.source === undefined), {
    message: 'an audience needs either a condition or a source, not both',
  });

/** A validated audience definition; durations are milliseconds. */
export type AudienceDefinition = z.output<typeof audienceSchema>;
/** An audience as written in handoff.yaml. */
export type AudienceDefinitionInput = z.input<typeof audienceSchema>;
