import type { Problem } from '../shared/result.ts';

/**
 * How deep objects and arrays may nest inside one message, counting the message itself as level
 * 1. Real events nest a handful of levels; the limit sits far below the depth (a few thousand
 * levels) at which recursive code (JSON.stringify, schema checks, the engine's readers) runs out of
 * stack, so a stored message can always be read back.
 */
export const MAX_NESTING_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * True when the JSON text in `bytes` opens more than `limit` objects or arrays at once. A single
 * pass without recursion or allocation: strings are skipped with a native search for their closing
 * quote, so the loop sees only the few structural bytes between them. Meant for text that
 * JSON.parse has accepted; on other text the answer means nothing.
 */
export function nestsDeeperThan(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  const end = bytes.length;
  for (let i = 0; i < end; i++) {
    const c = bytes[i];
    if (c === QUOTE) i = closingQuote(bytes, i);
    else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return false;
}

/** The index of the quote that closes the string opening at `open` (the end when there is none). */
function closingQuote(bytes: Uint8Array, open: number): number {
  let at = bytes.indexOf(QUOTE, open + 1);
  while (at > 0) {
    let backslashes = 0;
    while (bytes[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
    at = bytes.indexOf(QUOTE, at + 1);
  }
  return bytes.length;
}

export interface ShapeOptions {
  /** Default MAX_NESTING_DEPTH. */
  limit?: number;
  /** Check the depth only: for messages whose `__proto__` keys were made data on purpose (file imports). */
  depthOnly?: boolean;
}

interface Frame {
  value: object;
  /** 1 for the value the walk starts from. */
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

/**
 * The first thing in a parsed message that Handoff refuses to store, walking it without
 * recursion: objects and arrays nested deeper than `limit` (`too_deeply_nested`), or a key that
 * could change an object's prototype when the message is copied by assignment (`forbidden_key`:
 * an own `__proto__`, or a `constructor` holding an object with a `prototype`), as fastify's own
 * JSON parser refuses them. `at` is the field path.
 */
export function shapeProblem(value: unknown, options: ShapeOptions = {}): Problem | undefined {
  const { limit = MAX_NESTING_DEPTH, depthOnly = false } = options;
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: '' }];
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const node = frame.value;
    if (frame.depth > limit) {
      const at = pathOf(frame);
      return {
        code: 'too_deeply_nested',
        message: `\`${at}\` nests objects and arrays more than ${limit} levels deep; the limit is ${limit}`,
        at,
      };
    }
    const forbidden = depthOnly ? undefined : forbiddenKey(node);
    if (forbidden !== undefined) {
      const at = pathOf({ value: node, depth: frame.depth + 1, parent: frame, key: forbidden });
      return {
        code: 'forbidden_key',
        message: `\`${at}\`: a "${forbidden}" key could change an object's prototype and is not accepted`,
        at,
      };
    }
    const array = Array.isArray(node);
    const keys = Object.keys(node);
    // Pushed in reverse, so the walk meets fields in the order they were sent.
    for (let k = keys.length - 1; k >= 0; k--) {
      const key = keys[k]!;
      const child: unknown = (node as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null)
        stack.push({ value: child, depth: frame.depth + 1, parent: frame, key: array ? Number(key) : key });
    }
  }
  return undefined;
}

function forbiddenKey(node: object): string | undefined {
  if (Array.isArray(node)) return undefined;
  if (Object.hasOwn(node, '__proto__')) return '__proto__';
  if (!Object.hasOwn(node, 'constructor')) return undefined;
  const ctor: unknown = (node as Record<string, unknown>).constructor;
  return typeof ctor === 'object' && ctor !== null && Object.hasOwn(ctor, 'prototype')
    ? 'constructor'
    : undefined;
}

/** Paths longer than this many steps show their start and end: a deep path is thousands long. */
const SHOWN_STEPS = 8;

/** A field path such as `properties.items[2].sku`; the walk's root is the empty path. */
function pathOf(frame: Frame): string {
  const keys: (string | number)[] = [];
  for (let f: Frame | undefined = frame; f?.parent !== undefined; f = f.parent) keys.push(f.key);
  keys.reverse();
  const step = (key: string | number, i: number): string =>
    typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`;
  if (keys.length <= SHOWN_STEPS) return keys.map(step).join('') || '(the message)';
  const head = keys
    .slice(0, SHOWN_STEPS / 2)
    .map(step)
    .join('');
  const tail = keys.slice(-2).map(step).join('');
  return `${head}…(${keys.length - SHOWN_STEPS / 2 - 2} more levels)…${tail}`;
}
