// Operator-readable text for conditions, used by explanations and lint messages.
import { formatDuration } from '../shared/duration.ts';
import { assertNever } from '../shared/result.ts';
import type { AgeBand } from './windows.ts';
import { bandOf } from './windows.ts';
import type { AggregateFn, Condition, EventMatcher, NumberComparison, PropertyFilter } from './schema.ts';

const SYMBOL = {
  eq: '=',
  neq: '≠',
  in: 'in',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  contains: 'contains',
} as const;

const show = (value: unknown): string =>
  Array.isArray(value)
    ? `[${value.map(show).join(', ')}]`
    : typeof value === 'string'
      ? value
      : JSON.stringify(value);

export function describeTest(subject: string, test: { op: PropertyFilter['op']; value: unknown }): string {
  if (test.op === 'exists') return `${subject} ${test.value === false ? 'is not set' : 'is set'}`;
  return `${subject} ${SYMBOL[test.op]} ${show(test.value)}`;
}

export function describeMatcher(matcher: EventMatcher): string {
  const where = (matcher.where ?? []).map((filter) => describeTest(filter.property, filter));
  return where.length ? `${matcher.event} where ${where.join(' and ')}` : matcher.event;
}

function describeBand(band: AgeBand): string {
  if (band.from === null && band.to === null) return 'ever';
  if (band.from === null) return `within ${formatDuration(band.to!)}`;
  if (band.to === null) return `older than ${formatDuration(band.from)}`;
  return `between ${formatDuration(band.from)} and ${formatDuration(band.to)} ago`;
}

const times = (n: number) => (n === 1 ? '1 time' : `${n} times`);

/** `≥ 2 times`; empty for the default "at least once". */
function describeCount(count: NumberComparison | undefined): string {
  if (count === undefined || (count.op === 'gte' && count.value === 1)) return '';
  if (count.op === 'eq') return `exactly ${times(count.value)}`;
  return `${SYMBOL[count.op]} ${times(count.value)}`;
}

export function describeAggregate(
  fn: AggregateFn,
  property: string | undefined,
  matcher: EventMatcher,
): string {
  const measure =
    fn === 'count' ? 'count' : fn === 'sum' ? `total ${property ?? ''}` : `${fn} ${property ?? ''}`;
  return `${measure} of ${describeMatcher(matcher)}`;
}

/** One line naming what the node tests, e.g. `last Order Completed between 60d and 120d ago`. */
export function describeCondition(condition: Condition): string {
  switch (condition.type) {
    case 'event':
      return [describeMatcher(condition), describeCount(condition.count), describeBand(bandOf(condition))]
        .filter((part) => part !== '')
        .join(' ');
    case 'last':
      return `last ${describeMatcher(condition)} ${describeBand(bandOf(condition))}`;
    case 'since_last':
      return `${describeMatcher(condition)} since last ${describeMatcher(condition.since)}`;
    case 'aggregate': {
      const window = condition.within === undefined ? '' : ` within ${formatDuration(condition.within)}`;
      const { op, value } = condition.compare;
      return `${describeAggregate(condition.fn, condition.property, condition)}${window} ${SYMBOL[op]} ${value}`;
    }
    case 'trait':
      return describeTest(`trait ${condition.trait}`, condition);
    case 'in_audience':
      return `in audience ${condition.audience}`;
    case 'top_percent':
      return `top ${condition.percent}% by ${describeAggregate(condition.fn, condition.property, condition)}`;
    case 'all':
      return 'all of';
    case 'any':
      return 'any of';
    case 'not':
      return 'not';
    default:
      return assertNever(condition, 'condition');
  }
}

/** The largest magnitude a Date holds (ms either side of the epoch). */
const MAX_DATE_MS = 8.64e15;

/**
 * ISO time without the noise of zero milliseconds. A time no Date can hold (an older Handoff
 * stored `ts = -1e300` from a client's absurd sentAt) is shown as its number, never thrown.
 */
export const showTime = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS
    ? new Date(ms).toISOString().replace('.000Z', 'Z')
    : `${ms} ms since the epoch (out of range)`;

/** One line of a definition read aloud, indented under the `all of`/`any of`/`not` above it. */
export interface DefinitionLine {
  depth: number;
  text: string;
}

/** A condition tree as lines, parents before children, in the words explanations use. */
export function describeDefinition(condition: Condition, depth = 0): DefinitionLine[] {
  const lines: DefinitionLine[] = [{ depth, text: describeCondition(condition) }];
  const children =
    condition.type === 'all'
      ? condition.all
      : condition.type === 'any'
        ? condition.any
        : condition.type === 'not'
          ? [condition.not]
          : [];
  for (const child of children) lines.push(...describeDefinition(child, depth + 1));
  return lines;
}
