// Leaves over values: `aggregate` (count/sum/avg/min/max of a property), `trait`,
// `in_audience` and `top_percent`.
import { assertNever } from '../shared/result.ts';
import { compareNumber, testValue } from './filters.ts';
import { describeCondition, showTime } from './describe.ts';
import { matcherOf } from './event-leaves.ts';
import { leafExplanation, type CompiledNode, type NodeResult, type Track, type View } from './nodes.ts';
import type {
  AggregateCondition,
  AggregateFn,
  EventMatcher,
  InAudienceCondition,
  TopPercentCondition,
  TraitCondition,
} from './schema.ts';
import {
  addSaturating,
  readCount,
  readStats,
  readTimestamps,
  readValues,
  type ProfileState,
  type Stats,
} from './trackers.ts';

/** The aggregate of nothing: counts and sums are 0; an average, minimum or maximum does not exist. */
function fromStats(fn: AggregateFn, [count, sum, min, max]: Stats): number | undefined {
  if (fn === 'count') return count;
  if (fn === 'sum') return sum;
  if (count === 0) return undefined;
  switch (fn) {
    case 'avg':
      return sum / count;
    case 'min':
      return min;
    case 'max':
      return max;
    default:
      return assertNever(fn, 'aggregate');
  }
}

/** Stats of `values[i..]` for every i (and the empty tail), so each departure is O(1) to judge. */
function suffixStats(values: readonly number[]): Stats[] {
  const out = new Array<Stats>(values.length + 1);
  out[values.length] = [0, 0, Infinity, -Infinity];
  for (let i = values.length - 1; i >= 0; i--) {
    const [count, sum, min, max] = out[i + 1]!;
    const v = values[i]!;
    out[i] = [count + 1, addSaturating(sum, v), Math.min(min, v), Math.max(max, v)];
  }
  return out;
}

/** Reads a lifetime aggregate: `count` from a counter, the rest from running stats. */
function lifetimeReader(
  node: { fn: AggregateFn; property?: string | undefined } & EventMatcher,
  track: Track,
) {
  if (node.fn === 'count') {
    const key = track({ kind: 'count', match: matcherOf(node) });
    return (state: ProfileState) => ({ value: readCount(state, key), events: readCount(state, key) });
  }
  const key = track({ kind: 'stats', match: matcherOf(node), property: node.property ?? '' });
  return (state: ProfileState) => {
    const stats = readStats(state, key) ?? [0, 0, Infinity, -Infinity];
    return { value: fromStats(node.fn, stats), events: stats[0] };
  };
}

export function aggregateLeaf(condition: AggregateCondition, track: Track): CompiledNode {
  const decide = (x: number | undefined) => x !== undefined && compareNumber(x, condition.compare);
  const text = describeCondition(condition);
  const show = (x: number | undefined, events: number) =>
    x === undefined ? 'no matching events' : `${condition.fn} ${Number(x.toFixed(4))} over ${events} events`;
  const { within, fn } = condition;

  if (within === undefined) {
    const read = lifetimeReader(condition, track);
    const evaluate = (view: View): NodeResult => ({
      value: decide(read(view.state).value),
      nextChangeAt: null,
    });
    return {
      evaluate,
      explain: (view) => {
        const { value, events } = read(view.state);
        return leafExplanation(text, evaluate(view), [show(value, events)]);
      },
    };
  }

  const key =
    fn === 'count'
      ? // Every count above the compared value answers alike, so only that many need keeping.
        track({
          kind: 'timestamps',
          match: matcherOf(condition),
          horizon: within,
          cap: Math.max(1, Math.floor(condition.compare.value) + 1),
        })
      : track({
          kind: 'values',
          match: matcherOf(condition),
          property: condition.property ?? '',
          horizon: within,
        });
  const inWindow = (view: View): readonly [number, number][] => {
    const pairs =
      fn === 'count'
        ? readTimestamps(view.state, key).map((ts) => [ts, 1] as [number, number])
        : readValues(view.state, key);
    return pairs.filter(([ts]) => view.now - ts < within);
  };
  const evaluate = (view: View): NodeResult => {
    const pairs = inWindow(view);
    const suffixes = suffixStats(pairs.map(([, v]) => v));
    const current = decide(fromStats(fn, suffixes[0]!));
    // Pairs leave the window oldest first; find the first departure that flips the answer.
    for (let i = 0; i < pairs.length;) {
      const ts = pairs[i]![0];
      while (i < pairs.length && pairs[i]![0] === ts) i++;
      if (decide(fromStats(fn, suffixes[i]!)) !== current)
        return { value: current, nextChangeAt: ts + within };
    }
    return { value: current, nextChangeAt: null };
  };
  return {
    evaluate,
    explain: (view) => {
      const pairs = inWindow(view);
      const stats = suffixStats(pairs.map(([, v]) => v))[0]!;
      const result = evaluate(view);
      const change = result.nextChangeAt === null ? [] : [`changes at ${showTime(result.nextChangeAt)}`];
      return leafExplanation(text, result, [show(fromStats(fn, stats), stats[0]), ...change]);
    },
  };
}

export function traitLeaf(condition: TraitCondition): CompiledNode {
  const evaluate = (view: View): NodeResult => ({
    value: testValue(view.ctx.trait(condition.trait), condition.op, condition.value),
    nextChangeAt: null,
  });
  return {
    evaluate,
    explain: (view) => {
      const actual = view.ctx.trait(condition.trait);
      return leafExplanation(describeCondition(condition), evaluate(view), [
        actual === undefined ? 'not set' : `is ${JSON.stringify(actual)}`,
      ]);
    },
  };
}

export function inAudienceLeaf(condition: InAudienceCondition): CompiledNode {
  const evaluate = (view: View): NodeResult => {
    const result = view.results.get(condition.audience);
    if (result !== undefined) return { value: result.member, nextChangeAt: result.nextChangeAt };
    return { value: view.ctx.sourceMember?.(condition.audience) ?? false, nextChangeAt: null };
  };
  return {
    evaluate,
    explain: (view) => {
      const result = evaluate(view);
      const referenced = view.explainAudience(condition.audience);
      return {
        ...leafExplanation(describeCondition(condition), result, []),
        children: referenced ? [referenced] : [],
      };
    },
  };
}

/** A top_percent leaf also yields the profile's score, which the engine ranks across profiles. */
export function topPercentLeaf(
  condition: TopPercentCondition,
  conditionId: string,
  track: Track,
): CompiledNode & { score: (state: ProfileState) => number | undefined } {
  const read = lifetimeReader(condition, track);
  // No matching events means no rank at all, not a score of zero.
  const score = (state: ProfileState) => {
    const { value, events } = read(state);
    return events === 0 ? undefined : value;
  };
  const evaluate = (view: View): NodeResult => {
    const s = score(view.state);
    const threshold = view.ctx.topPercentThreshold(conditionId);
    return { value: s !== undefined && threshold !== undefined && s >= threshold, nextChangeAt: null };
  };
  return {
    score,
    evaluate,
    explain: (view) => {
      const s = score(view.state);
      const threshold = view.ctx.topPercentThreshold(conditionId);
      return leafExplanation(describeCondition(condition), evaluate(view), [
        s === undefined ? 'no score: no matching events' : `score ${s}`,
        threshold === undefined ? 'threshold not computed yet' : `threshold ${threshold}`,
      ]);
    },
  };
}
