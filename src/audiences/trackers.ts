// Trackers are the per-profile facts conditions read: a few timestamps, a counter, running
// stats. Each is keyed by a hash of what it tracks, so audiences that need the same fact share
// it, and a definition change leaves every other audience's state valid.
import { createHash } from 'node:crypto';
import { assertNever } from '../shared/result.ts';
import { matchesEvent, propertyAt, toNumber, type AudienceEvent } from './filters.ts';
import type { EventMatcher } from './schema.ts';

export type TrackerSpec =
  /** Matching timestamps, ascending: those younger than `horizon`, at most the latest `cap`. */
  | { kind: 'timestamps'; match: EventMatcher; horizon: number | null; cap: number | null }
  /** How many matching events ever. */
  | { kind: 'count'; match: EventMatcher }
  /** count/sum/min/max of a numeric property over all matching events. */
  | { kind: 'stats'; match: EventMatcher; property: string }
  /** (timestamp, value) pairs of a numeric property, younger than `horizon`, ascending. */
  | { kind: 'values'; match: EventMatcher; property: string; horizon: number };

export type Stats = [count: number, sum: number, min: number, max: number];
type TrackerValue = number | number[] | [number, number][];

/** A profile's compact state: only what the compiled audiences need. Plain JSON. */
export interface ProfileState {
  v: 1;
  /** Tracker key → value; a missing key means no matching event yet. */
  trackers: Record<string, TrackerValue>;
}

export const emptyState = (): ProfileState => ({ v: 1, trackers: {} });

/**
 * A sum that saturates at ±Number.MAX_VALUE instead of becoming ±Infinity: Infinity is not JSON
 * (it would be stored as null), and a profile whose orders add up past 1.8e308 still has the
 * largest sum there is, for a ranking or a threshold to compare.
 */
export function addSaturating(a: number, b: number): number {
  const sum = a + b;
  if (Number.isFinite(sum)) return sum;
  return sum > 0 ? Number.MAX_VALUE : sum < 0 ? -Number.MAX_VALUE : 0;
}

/**
 * Stats as stored. A sum stored by an older Handoff as null (it had overflowed to ±Infinity)
 * reads as saturated, toward the sign of the largest value.
 */
function readableStats(stats: Stats): Stats {
  const [count, sum, min, max] = stats;
  if (typeof sum === 'number' && Number.isFinite(sum)) return stats;
  return [count, max > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE, min, max];
}

/** JSON with sorted keys and sorted filters, so equal specs hash equally however they were written. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const PREFIX = { timestamps: 'ts', count: 'n', stats: 'agg', values: 'win' } as const;

export function trackerKey(spec: TrackerSpec): string {
  const where = (spec.match.where ?? []).map(canonical).sort();
  const normalised = { ...spec, match: { event: spec.match.event, where: where.length ? where : undefined } };
  return `${PREFIX[spec.kind]}.${createHash('sha256').update(canonical(normalised)).digest('base64url').slice(0, 12)}`;
}

/** Index after the last element ≤ `ts`: late events land in timestamp order, after equal ones. */
function upperBound<T>(list: readonly T[], ts: number, timestampOf: (item: T) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (timestampOf(list[mid]!) <= ts) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const firstYoungerThan = <T>(
  list: readonly T[],
  horizon: number | null,
  now: number,
  at: (item: T) => number,
) => (horizon === null ? 0 : upperBound(list, now - horizon, at));

const stamp = (ts: number) => ts;
const pairStamp = (pair: [number, number]) => pair[0];

function pruneValue(spec: TrackerSpec, value: TrackerValue, now: number): TrackerValue | undefined {
  switch (spec.kind) {
    case 'timestamps': {
      const list = value as number[];
      let start = firstYoungerThan(list, spec.horizon, now, stamp);
      if (spec.cap !== null) start = Math.max(start, list.length - spec.cap);
      if (start === 0) return list;
      return start >= list.length ? undefined : list.slice(start);
    }
    case 'values': {
      const pairs = value as [number, number][];
      const start = firstYoungerThan(pairs, spec.horizon, now, pairStamp);
      if (start === 0) return pairs;
      return start >= pairs.length ? undefined : pairs.slice(start);
    }
    case 'count':
    case 'stats':
      return value;
    default:
      return assertNever(spec, 'tracker');
  }
}

function addEvent(
  spec: TrackerSpec,
  value: TrackerValue | undefined,
  event: AudienceEvent,
): TrackerValue | undefined {
  switch (spec.kind) {
    case 'timestamps': {
      const list = (value as number[] | undefined) ?? [];
      const at = upperBound(list, event.timestamp, stamp);
      return [...list.slice(0, at), event.timestamp, ...list.slice(at)];
    }
    case 'count':
      return ((value as number | undefined) ?? 0) + 1;
    case 'stats': {
      const n = toNumber(propertyAt(event.properties, spec.property));
      if (n === undefined) return value;
      const [count, sum, min, max] = value === undefined ? [0, 0, n, n] : readableStats(value as Stats);
      return [count + 1, addSaturating(sum, n), Math.min(min, n), Math.max(max, n)] satisfies Stats;
    }
    case 'values': {
      const n = toNumber(propertyAt(event.properties, spec.property));
      if (n === undefined) return value;
      const pairs = (value as [number, number][] | undefined) ?? [];
      const at = upperBound(pairs, event.timestamp, pairStamp);
      return [...pairs.slice(0, at), [event.timestamp, n], ...pairs.slice(at)];
    }
    default:
      return assertNever(spec, 'tracker');
  }
}

/** One event applied at `now` (ms) to a profile's trackers; `only` limits it to these audiences. */
export interface TrackerUpdate {
  specs: ReadonlyMap<string, TrackerSpec>;
  state: ProfileState;
  event: AudienceEvent;
  now: number;
  only?: ReadonlySet<string>;
}

/**
 * Folds one event into the trackers it matches, then prunes every tracker given `now` (time
 * only moves forward, so what is pruned can never matter again). Trackers no compiled audience
 * uses any more are dropped. `only` limits the update to some trackers, for backfilling a
 * changed audience without counting events twice in the others.
 */
export function applyToTrackers({ specs, state, event, now, only }: TrackerUpdate): ProfileState {
  const next: Record<string, TrackerValue> = {};
  for (const [key, spec] of specs) {
    let value = state.trackers[key];
    if ((only === undefined || only.has(key)) && matchesEvent(spec.match, event))
      value = addEvent(spec, value, event);
    if (value !== undefined) value = pruneValue(spec, value, now);
    if (value !== undefined) next[key] = value;
  }
  return { v: 1, trackers: next };
}

/**
 * Two profiles' states as one: the state of all their events folded together, so an identity
 * merge need not replay either history. Timestamps and values merge in order, counts and stats
 * add up, and the result is pruned at `now` as folding would have pruned it.
 */
export function mergeTrackers(
  specs: ReadonlyMap<string, TrackerSpec>,
  a: ProfileState,
  b: ProfileState,
  now: number,
): ProfileState {
  const next: Record<string, TrackerValue> = {};
  for (const [key, spec] of specs) {
    const x = a.trackers[key];
    const y = b.trackers[key];
    let value = x === undefined ? y : y === undefined ? x : combine(spec, x, y);
    if (value !== undefined) value = pruneValue(spec, value, now);
    if (value !== undefined) next[key] = value;
  }
  return { v: 1, trackers: next };
}

function combine(spec: TrackerSpec, x: TrackerValue, y: TrackerValue): TrackerValue {
  switch (spec.kind) {
    case 'timestamps':
      return mergeInOrder(x as number[], y as number[], stamp);
    case 'values':
      return mergeInOrder(x as [number, number][], y as [number, number][], pairStamp);
    case 'count':
      return (x as number) + (y as number);
    case 'stats': {
      const [n1, sum1, min1, max1] = readableStats(x as Stats);
      const [n2, sum2, min2, max2] = readableStats(y as Stats);
      return [n1 + n2, addSaturating(sum1, sum2), Math.min(min1, min2), Math.max(max1, max2)] satisfies Stats;
    }
    default:
      return assertNever(spec, 'tracker');
  }
}

function mergeInOrder<T>(x: readonly T[], y: readonly T[], at: (item: T) => number): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) out.push(at(y[j]!) < at(x[i]!) ? y[j++]! : x[i++]!);
  while (i < x.length) out.push(x[i++]!);
  while (j < y.length) out.push(y[j++]!);
  return out;
}

export function pruneTrackers(
  specs: ReadonlyMap<string, TrackerSpec>,
  state: ProfileState,
  now: number,
): ProfileState {
  const next: Record<string, TrackerValue> = {};
  for (const [key, spec] of specs) {
    const value = state.trackers[key];
    const pruned = value === undefined ? undefined : pruneValue(spec, value, now);
    if (pruned !== undefined) next[key] = pruned;
  }
  return { v: 1, trackers: next };
}

export const readTimestamps = (state: ProfileState, key: string): readonly number[] =>
  (state.trackers[key] as number[] | undefined) ?? [];
export const readCount = (state: ProfileState, key: string): number =>
  (state.trackers[key] as number | undefined) ?? 0;
export const readStats = (state: ProfileState, key: string): Stats | undefined => {
  const stats = state.trackers[key] as Stats | undefined;
  return stats === undefined ? undefined : readableStats(stats);
};
export const readValues = (state: ProfileState, key: string): readonly [number, number][] =>
  (state.trackers[key] as [number, number][] | undefined) ?? [];
export const latest = (timestamps: readonly number[]): number | undefined =>
  timestamps[timestamps.length - 1];
