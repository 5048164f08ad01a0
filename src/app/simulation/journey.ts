// A scripted journey for one test profile (view, add to cart, wait 5h, purchase), turned into the
// Segment-spec messages `handoff simulate --journey` runs. YAML or JSON (JSON is YAML).
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import type { ConfigProblem } from '../../config/load.ts';
import { formatProblem } from '../../config/load.ts';
import { parseDuration } from '../../shared/duration.ts';
import { isZonedTime } from '../../shared/zoned-time.ts';
import { pathText, positionOf } from '../../shared/yaml-position.ts';
import type { Result } from '../../shared/result.ts';
import { assertNever, fail, ok } from '../../shared/result.ts';
import type { Expectation } from './journey-expect.ts';
import { expectationSchema, resolveExpectations } from './journey-expect.ts';
import type { JourneyStep, SimulationInput } from './model.ts';

/** The e-commerce spec event each shorthand step sends. */
const SHORTHAND_EVENTS = {
  view: 'Product Viewed',
  add: 'Product Added',
  checkout: 'Checkout Started',
  purchase: 'Order Completed',
  refund: 'Order Refunded',
} as const;
type Shorthand = keyof typeof SHORTHAND_EVENTS;
const STEP_KINDS = [...Object.keys(SHORTHAND_EVENTS), 'track', 'identify', 'wait'];

export type { JourneyStep } from './model.ts';

export { isZonedTime } from '../../shared/zoned-time.ts';

const fields = (what: string) =>
  z.record(z.string(), z.unknown(), `${what} as a mapping, e.g. { product_id: sku-1, price: 49 }`);
const id = z.union([z.string().min(1), z.number()]).transform(String);

const payloads = {
  shorthand: fields('the event properties')
    .nullable()
    .transform((p) => p ?? {}),
  track: z.strictObject({
    event: z.string('the event name, e.g. Coupon Applied').min(1, 'the event name, e.g. Coupon Applied'),
    properties: fields('the event properties').optional(),
  }),
  identify: z.strictObject({ traits: fields('the traits') }),
  wait: z.string('a duration such as 30m, 5h or 2d').transform((text, ctx) => {
    const parsed = parseDuration(text);
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: 'custom', message: parsed.error.message });
    return z.NEVER;
  }),
};

const step = z.unknown().transform((raw, ctx): JourneyStep => {
  const object = typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  const keys = object ? Object.keys(raw).filter((k) => k !== 'name') : [];
  const name = object ? (raw as Record<string, unknown>).name : undefined;
  if (name !== undefined && (typeof name !== 'string' || name.trim() === '')) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: 'a step name is text, e.g. name: first-order' });
    return z.NEVER;
  }
  const kind = keys[0];
  if (keys.length !== 1 || kind === undefined || !STEP_KINDS.includes(kind)) {
    const found = keys.length > 1 ? ` (this one has ${keys.join(', ')})` : '';
    ctx.addIssue({
      code: 'custom',
      message: `a step is one of ${STEP_KINDS.join(', ')}, written as one key (and an optional name), e.g. "- wait: 5h" or "- add: { product_id: sku-1 }"${found}`,
    });
    return z.NEVER;
  }
  const value = (raw as Record<string, unknown>)[kind];
  const payload = <T>(schema: z.ZodType<T, unknown>): T | undefined => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues)
      ctx.addIssue({ code: 'custom', path: [kind, ...issue.path], message: issue.message });
    return undefined;
  };
  let result: JourneyStep | undefined;
  if (kind === 'wait') {
    const ms = payload(payloads.wait);
    result = ms === undefined ? undefined : { kind, ms };
  } else if (kind === 'identify') {
    const data = payload(payloads.identify);
    result = data && { kind, traits: data.traits };
  } else if (kind === 'track') {
    const data = payload(payloads.track);
    result = data && { kind, event: data.event, properties: data.properties ?? {} };
  } else {
    const properties = payload(payloads.shorthand);
    result = properties && { kind: 'track', event: SHORTHAND_EVENTS[kind as Shorthand], properties };
  }
  if (result === undefined) return z.NEVER;
  const alias =
    kind === 'wait' ? undefined : kind === 'track' && result.kind === 'track' ? result.event : kind;
  return { ...result, ...(name !== undefined && { name }), ...(alias !== undefined && { alias }) };
});

const journeySchema = z.strictObject({
  profile: z
    .strictObject({
      userId: id.optional(),
      anonymousId: id.optional(),
      email: z.string().min(1).optional(),
      traits: fields('the traits').optional(),
    })
    .refine((p) => p.userId !== undefined || p.anonymousId !== undefined, {
      message: 'give the profile a userId or an anonymousId: every Segment message carries one',
    }),
  start: z
    .string('an ISO-8601 time, e.g. 2026-11-28T21:10:00Z')
    .refine(isZonedTime, 'an ISO-8601 time with Z or an offset, e.g. 2026-11-28T21:10:00Z'),
  steps: z.array(step).min(1, 'list at least one step'),
  expect: z
    .array(expectationSchema, 'a list of expectations, e.g. - { at: +4h, in: [cart_4_24h] }')
    .optional(),
});

export type Journey = z.infer<typeof journeySchema>;

/** Why a journey file could not be read: one problem per mistake, each with its place. */
export interface JourneyError {
  code: 'journey_invalid';
  /** Every problem as `file:line:col: path: message`, one per line. */
  message: string;
  problems: ConfigProblem[];
}

/** A journey file read: the messages it sends and what it expects of the audiences. */
export interface JourneyPlan {
  journey: Journey;
  /** The profile's identify first, then one message per step that sends one. */
  inputs: SimulationInput[];
  expectations: Expectation[];
}

/** Parses a journey file into messages for `simulate`, each with the line of the step that made it. */
export function parseJourney(text: string, file: string): Result<SimulationInput[], JourneyError> {
  const plan = readJourney(text, file);
  return plan.ok ? ok(plan.value.inputs) : plan;
}

/** Parses a journey file with its expectations; every problem is reported with its line. */
export function readJourney(text: string, file: string): Result<JourneyPlan, JourneyError> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: ConfigProblem[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0]);
    return {
      code: 'journey_syntax',
      message: e.message.split('\n')[0] ?? e.message,
      path: '',
      line: pos.line,
      column: pos.col,
    };
  });
  if (problems.length === 0) {
    const parsed = journeySchema.safeParse(doc.toJS() ?? {});
    const place = (path: (string | number)[]) => positionOf(doc, lines, path);
    if (parsed.success) {
      const journey = parsed.data;
      const resolved = resolveExpectations(journey.expect ?? [], journey, place);
      problems.push(...resolved.problems);
      if (problems.length === 0) {
        const inputs = journeyMessages(journey, (path) => place(path).line);
        return ok({ journey, inputs, expectations: resolved.expectations });
      }
    } else
      for (const issue of parsed.error.issues) {
        const path = issue.path as (string | number)[];
        problems.push({
          code: 'journey_invalid',
          message: issue.message,
          path: pathText(path),
          ...place(path),
        });
      }
  }
  const message = problems.map((p) => formatProblem(file, p)).join('\n');
  return fail({ code: 'journey_invalid', message, problems });
}

/**
 * The journey as Segment-spec messages: the profile's identify first, then one message per step,
 * stamped `start` plus the waits before it. messageIds name the step (`journey-step-2`), so runs
 * are identical and a change's cause points back at the step.
 */
export function journeyMessages(
  journey: Journey,
  lineOf: (path: (string | number)[]) => number | undefined = () => undefined,
): SimulationInput[] {
  const { userId, anonymousId, email, traits } = journey.profile;
  const who = { ...(userId !== undefined && { userId }), ...(anonymousId !== undefined && { anonymousId }) };
  let time = Date.parse(journey.start);
  let lastOrder: unknown;
  const input = (path: (string | number)[], message: Record<string, unknown>): SimulationInput => {
    const line = lineOf(path);
    return { ...(line !== undefined && { line }), message };
  };
  const out = [
    input(['profile'], {
      type: 'identify',
      messageId: 'journey-profile',
      ...who,
      traits: { ...traits, ...(email !== undefined && { email }) },
      timestamp: new Date(time).toISOString(),
    }),
  ];
  journey.steps.forEach((s, index) => {
    const base = { messageId: `journey-step-${index}`, ...who, timestamp: new Date(time).toISOString() };
    switch (s.kind) {
      case 'wait':
        time += s.ms;
        return;
      case 'identify':
        out.push(input(['steps', index], { type: 'identify', ...base, traits: s.traits }));
        return;
      case 'track': {
        let properties = s.properties;
        // Order events are matched by order_id downstream; a refund with none refers to the last purchase.
        if (s.event === SHORTHAND_EVENTS.purchase && properties.order_id === undefined)
          properties = { order_id: `journey-order-${index}`, ...properties };
        if (s.event === SHORTHAND_EVENTS.purchase) lastOrder = properties.order_id;
        if (
          s.event === SHORTHAND_EVENTS.refund &&
          properties.order_id === undefined &&
          lastOrder !== undefined
        )
          properties = { order_id: lastOrder, ...properties };
        out.push(input(['steps', index], { type: 'track', ...base, event: s.event, properties }));
        return;
      }
      default:
        assertNever(s, 'journey step');
    }
  });
  return out;
}
