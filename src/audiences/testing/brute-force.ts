// Test helper: decides membership straight from the raw events that have arrived, with no
// state, pruning or next-change logic. The differential test holds the compiled evaluator to it.
import { assertNever } from '../../shared/result.ts';
import { matchesEvent, propertyAt, testValue, toNumber, type AudienceEvent } from '../filters.ts';
import type { AudienceDefinition, Condition, NumberComparison } from '../schema.ts';

export interface World {
  /** Every event that has arrived by `now`, in arrival order. */
  events: readonly AudienceEvent[];
  traits: Readonly<Record<string, unknown>>;
  threshold(conditionId: string): number | undefined;
}

function compare(actual: number, { op, value }: NumberComparison): boolean {
  if (op === 'gt') return actual > value;
  if (op === 'gte') return actual >= value;
  if (op === 'lt') return actual < value;
  if (op === 'lte') return actual <= value;
  if (op === 'eq') return actual === value;
  return actual !== value;
}

function aggregate(fn: 'count' | 'sum' | 'avg' | 'min' | 'max', events: AudienceEvent[], property?: string) {
  if (fn === 'count') return { value: events.length, n: events.length };
  const values = events.flatMap((e) => {
    const v = toNumber(propertyAt(e.properties, property ?? ''));
    return v === undefined ? [] : [v];
  });
  const sum = values.reduce((a, b) => a + b, 0);
  if (fn === 'sum') return { value: sum, n: values.length };
  if (values.length === 0) return { value: undefined, n: 0 };
  if (fn === 'avg') return { value: sum / values.length, n: values.length };
  return { value: fn === 'min' ? Math.min(...values) : Math.max(...values), n: values.length };
}

/** Membership of every condition-based audience at `now`; definitions in dependency order. */
export function bruteForceMembership(
  definitions: readonly AudienceDefinition[],
  world: World,
  now: number,
): Map<string, boolean> {
  const members = new Map<string, boolean>();
  const age = (e: AudienceEvent) => now - e.timestamp;

  const holds = (c: Condition, audience: string, path: string): boolean => {
    switch (c.type) {
      case 'event': {
        const matching = world.events.filter((e) => matchesEvent(c, e));
        const inScope = matching.filter((e) =>
          c.within !== undefined
            ? age(e) < c.within
            : c.between !== undefined
              ? c.between[0] <= age(e) && age(e) < c.between[1]
              : true,
        );
        return compare(inScope.length, c.count ?? { op: 'gte', value: 1 });
      }
      case 'last': {
        const matching = world.events.filter((e) => matchesEvent(c, e));
        if (matching.length === 0) return false;
        const a = now - Math.max(...matching.map((e) => e.timestamp));
        if (c.within !== undefined) return a < c.within;
        if (c.between !== undefined) return c.between[0] <= a && a < c.between[1];
        return a >= c.olderThan!;
      }
      case 'since_last': {
        const as = world.events.filter((e) => matchesEvent(c.since, e));
        if (as.length === 0) return false;
        const latestA = Math.max(...as.map((e) => e.timestamp));
        return world.events.some((e) => matchesEvent(c, e) && e.timestamp >= latestA);
      }
      case 'aggregate': {
        const matching = world.events.filter(
          (e) => matchesEvent(c, e) && (c.within === undefined || age(e) < c.within),
        );
        const { value } = aggregate(c.fn, matching, c.property);
        return value !== undefined && compare(value, c.compare);
      }
      case 'trait':
        return testValue(world.traits[c.trait], c.op, c.value);
      case 'in_audience':
        return members.get(c.audience) ?? false;
      case 'top_percent': {
        const { value, n } = aggregate(
          c.fn,
          world.events.filter((e) => matchesEvent(c, e)),
          c.property,
        );
        const threshold = world.threshold(`${audience}/${path}`);
        return n > 0 && value !== undefined && threshold !== undefined && value >= threshold;
      }
      case 'all':
        return c.all.every((child, i) => holds(child, audience, `${path}.all[${i}]`));
      case 'any':
        return c.any.some((child, i) => holds(child, audience, `${path}.any[${i}]`));
      case 'not':
        return !holds(c.not, audience, `${path}.not`);
      default:
        return assertNever(c, 'condition');
    }
  };

  for (const d of definitions) {
    if (d.condition !== undefined) members.set(d.key, holds(d.condition, d.key, 'condition'));
  }
  return members;
}
