// Leaves over event history: `event` (how many times, in which age band), `last` (how old the
// latest one is) and `since_last` (did B happen at or after the latest A).
import { compareNumber } from './filters.ts';
import { describeCondition, describeMatcher, showTime } from './describe.ts';
import { leafExplanation, type CompiledNode, type NodeResult, type Track, type View } from './nodes.ts';
import type {
  EventCondition,
  EventMatcher,
  LastCondition,
  NumberComparison,
  SinceLastCondition,
} from './schema.ts';
import { latest, readCount, readTimestamps } from './trackers.ts';
import { bandOf, countInBand, inBand, isAllTime, nextBandEdge, nextCountChange } from './windows.ts';

export const matcherOf = (node: EventMatcher): EventMatcher => ({ event: node.event, where: node.where });

/**
 * How many of the latest timestamps "count OP N within W" needs: beyond this many, every count
 * compares the same, so older ones can go (N for ≥ and <; N+1 for the rest).
 */
function countCap({ op, value }: NumberComparison): number {
  return Math.max(1, op === 'gte' || op === 'lt' ? value : value + 1);
}

function changeDetail(result: NodeResult): string[] {
  if (result.nextChangeAt === null) return [];
  return [`${result.value ? 'leaves' : 'enters'} at ${showTime(result.nextChangeAt)}`];
}

export function eventLeaf(condition: EventCondition, track: Track): CompiledNode {
  const band = bandOf(condition);
  const count = condition.count ?? { op: 'gte', value: 1 };
  const decide = (n: number) => compareNumber(n, count);
  const showCount = condition.count !== undefined;
  const text = describeCondition(condition);

  if (isAllTime(band)) {
    const key = track({ kind: 'count', match: matcherOf(condition) });
    const evaluate = (view: View): NodeResult => ({
      value: decide(readCount(view.state, key)),
      nextChangeAt: null,
    });
    return {
      evaluate,
      explain: (view) => leafExplanation(text, evaluate(view), [`${readCount(view.state, key)} so far`]),
    };
  }

  // An upper age bound always exists here: an event condition has no `olderThan`.
  const cap = band.from === null ? countCap(count) : null;
  const key = track({ kind: 'timestamps', match: matcherOf(condition), horizon: band.to, cap });
  const evaluate = (view: View): NodeResult => {
    const stamps = readTimestamps(view.state, key);
    return {
      value: decide(countInBand(stamps, view.now, band)),
      nextChangeAt: nextCountChange(stamps, view.now, band, decide),
    };
  };
  const details = (view: View, result: NodeResult): string[] => {
    const stamps = readTimestamps(view.state, key).filter((ts) => inBand(ts, view.now, band));
    const last = latest(stamps);
    if (last === undefined) return ['none in window', ...changeDetail(result)];
    const n = cap !== null && stamps.length >= cap ? `at least ${stamps.length}` : String(stamps.length);
    return [...(showCount ? [`${n} in window`] : []), `last at ${showTime(last)}`, ...changeDetail(result)];
  };
  return {
    evaluate,
    explain: (view) => {
      const result = evaluate(view);
      return leafExplanation(text, result, details(view, result));
    },
    explainNegated: showCount
      ? undefined
      : (view) => {
          const result = evaluate(view);
          const negated = { value: !result.value, nextChangeAt: result.nextChangeAt };
          return leafExplanation(`no ${text}`, negated, details(view, negated));
        },
  };
}

export function lastLeaf(condition: LastCondition, track: Track): CompiledNode {
  const band = bandOf(condition);
  const key = track({ kind: 'timestamps', match: matcherOf(condition), horizon: null, cap: 1 });
  const evaluate = (view: View): NodeResult => {
    const last = latest(readTimestamps(view.state, key));
    if (last === undefined) return { value: false, nextChangeAt: null };
    return { value: inBand(last, view.now, band), nextChangeAt: nextBandEdge(last, view.now, band) };
  };
  return {
    evaluate,
    explain: (view) => {
      const result = evaluate(view);
      const last = latest(readTimestamps(view.state, key));
      const details = last === undefined ? ['never'] : [`last at ${showTime(last)}`, ...changeDetail(result)];
      return leafExplanation(describeCondition(condition), result, details);
    },
  };
}

export function sinceLastLeaf(condition: SinceLastCondition, track: Track): CompiledNode {
  // Only the latest of each matters: some B at or after the latest A iff the latest B is.
  const latestB = track({ kind: 'timestamps', match: matcherOf(condition), horizon: null, cap: 1 });
  const latestA = track({ kind: 'timestamps', match: matcherOf(condition.since), horizon: null, cap: 1 });
  const nameA = describeMatcher(condition.since);
  const nameB = describeMatcher(condition);
  const read = (view: View) => ({
    a: latest(readTimestamps(view.state, latestA)),
    b: latest(readTimestamps(view.state, latestB)),
  });
  const evaluate = (view: View): NodeResult => {
    const { a, b } = read(view);
    return { value: a !== undefined && b !== undefined && b >= a, nextChangeAt: null };
  };
  const facts = (view: View): string[] => {
    const { a, b } = read(view);
    if (a === undefined) return [`no ${nameA} yet`];
    return [
      `last ${nameA} at ${showTime(a)}`,
      b === undefined ? `no ${nameB} yet` : `last ${nameB} at ${showTime(b)}`,
    ];
  };
  return {
    evaluate,
    explain: (view) => leafExplanation(describeCondition(condition), evaluate(view), facts(view)),
    explainNegated: (view) => {
      const result = evaluate(view);
      const negated = { value: !result.value, nextChangeAt: null };
      // Exit on conversion is the point of this shape; say which event ends it.
      const details = negated.value && read(view).a !== undefined ? [`would end on ${nameB}`] : facts(view);
      return leafExplanation(`no ${describeCondition(condition)}`, negated, details);
    },
  };
}
