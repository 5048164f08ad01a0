// How event properties and traits are tested. Comparisons are strict (no type juggling) except
// that numeric strings count as numbers, because Segment sources send `"75.00"` as often as `75`.
import { assertNever } from '../shared/result.ts';
import type { EventMatcher, FilterOp, NumberComparison } from './schema.ts';

/** The event as the audience core sees it; `timestamp` is the event's own time in ms. */
export interface AudienceEvent {
  id: string;
  name: string;
  timestamp: number;
  properties: Record<string, unknown>;
}

/** Reads `product.category` or `products.0.sku`; a key that itself contains dots wins if present. */
export function propertyAt(properties: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(properties, path)) return properties[path];
  let current: unknown = properties;
  for (const segment of path.split('.')) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** A finite number, or a string holding one; anything else is not a number. */
export function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

/** Orders `actual` against `expected`: numerically when `expected` is a number, else as strings. */
function order(actual: unknown, expected: unknown): number | undefined {
  if (typeof expected === 'number') {
    const n = toNumber(actual);
    return n === undefined ? undefined : n - expected;
  }
  if (typeof expected === 'string' && typeof actual === 'string')
    return actual < expected ? -1 : actual > expected ? 1 : 0;
  return undefined;
}

/** Applies a filter or trait operator. A missing value fails everything but `neq` and `exists: false`. */
export function testValue(actual: unknown, op: FilterOp, expected: unknown): boolean {
  switch (op) {
    case 'eq':
      return actual === expected;
    case 'neq':
      return actual !== expected;
    case 'in':
      return Array.isArray(expected) && expected.includes(actual);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      const sign = order(actual, expected);
      if (sign === undefined || Number.isNaN(sign)) return false;
      if (op === 'gt') return sign > 0;
      if (op === 'gte') return sign >= 0;
      if (op === 'lt') return sign < 0;
      return sign <= 0;
    }
    case 'exists':
      return (actual !== undefined && actual !== null) === expected;
    case 'contains':
      if (typeof actual === 'string') return typeof expected === 'string' && actual.includes(expected);
      return Array.isArray(actual) && actual.includes(expected);
    default:
      return assertNever(op, 'filter op');
  }
}

export function compareNumber(actual: number, comparison: NumberComparison): boolean {
  const { op, value } = comparison;
  switch (op) {
    case 'gt':
      return actual > value;
    case 'gte':
      return actual >= value;
    case 'lt':
      return actual < value;
    case 'lte':
      return actual <= value;
    case 'eq':
      return actual === value;
    case 'neq':
      return actual !== value;
    default:
      return assertNever(op, 'number op');
  }
}

export function matchesEvent(
  matcher: EventMatcher,
  event: Pick<AudienceEvent, 'name' | 'properties'>,
): boolean {
  if (event.name !== matcher.event) return false;
  return (matcher.where ?? []).every((filter) =>
    testValue(propertyAt(event.properties, filter.property), filter.op, filter.value),
  );
}
