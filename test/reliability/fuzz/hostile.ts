// The hostile parts a fuzzed request is built from: numbers that break date and arithmetic code,
// nesting, keys that reach prototypes, bytes that are not UTF-8, bodies cut short. Each builder
// takes the seeded generator so a seed replays the same request.

/** A seeded generator of floats in [0, 1). */
export type Rand = () => number;

export const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
export const int = (rand: Rand, from: number, to: number): number =>
  from + Math.floor(rand() * (to - from + 1));
export const chance = (rand: Rand, p: number): boolean => rand() < p;

/**
 * Numbers as they appear in the JSON text: huge, tiny, out of Date's range (8.64e15 ms), and
 * literals that JSON.parse turns into Infinity or -0.
 */
export const HOSTILE_NUMBERS = [
  '1e308',
  '1.29e307',
  '1e16',
  '8640000000000001',
  '-8640000000000001',
  '-1e300',
  '1e300',
  '1e400',
  '-1e400',
  '-0',
  '5e-324',
  '123456789012345678901234567890',
  '-1',
  '0',
] as const;

/** Placeholder a JSON value is replaced by after stringify, so raw JSON text can be spliced in. */
const RAW = (n: number) => `@@RAW${n}@@`;

/** JSON text of `value`, where every string `raw(i)` placeholder becomes `fragments[i]` verbatim. */
export function jsonWith(value: unknown, fragments: readonly string[]): string {
  let text = JSON.stringify(value);
  fragments.forEach((fragment, i) => {
    text = text.replace(JSON.stringify(RAW(i)), () => fragment);
  });
  return text;
}
export const raw = RAW;

/** `depth` levels of objects (`{"a":{"a":…}}`) or arrays (`[[…]]`) around `leaf`. */
export function nested(depth: number, kind: 'object' | 'array', leaf = '1'): string {
  return kind === 'object'
    ? `${'{"a":'.repeat(depth)}${leaf}${'}'.repeat(depth)}`
    : `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
}

export const NESTING_DEPTHS = [10, 100, 1_000, 5_000, 10_000] as const;

/** An object with every prototype key, each holding something an attacker would like to plant. */
export const protoObject = (): string =>
  '{"__proto__":{"polluted":true,"userId":"proto-user"},"constructor":{"prototype":{"polluted":true}},"prototype":{"x":1},"toString":"not a function","hasOwnProperty":1,"valueOf":{}}';

/** Bytes that are not valid UTF-8. */
export const BAD_UTF8 = [
  Buffer.from([0xff]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0xed, 0xa0, 0x80]), // an encoded surrogate
  Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]),
  Buffer.from([0xc0, 0xaf]), // an overlong '/'
] as const;

/** JSON string escapes that decode to strings storage may not round-trip. */
export const ODD_STRINGS = [
  '"\\ud800"',
  '"\\udfff\\ud800"',
  '"a\\u0000b"',
  '"\\u0000"',
  '""',
  '" "',
  '"\\u202e\\u0041"',
  '"\\uffff"',
] as const;

/** The body cut somewhere before its end (never empty). */
export const truncated = (rand: Rand, body: string): string =>
  body.slice(0, Math.max(1, Math.floor(rand() * (body.length - 1))));

/** Bodies that are JSON but not an object. */
export const NON_OBJECTS = ['null', '[]', '[{}]', '"text"', '42', 'true', '{}'] as const;

/** Bodies that are not JSON at all. */
export const NOT_JSON = [
  '{',
  '}',
  '{"a":}',
  "{'a':1}",
  'userId=u1&event=x',
  '<xml/>',
  '\u0000',
  'NaN',
] as const;

/** Content types other than JSON's (and missing); undefined means no header at all. */
export const WRONG_CONTENT_TYPES = [
  undefined,
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/xml',
  'application/octet-stream',
  'application/json; charset=utf-16',
  'application/jsonx',
  'text/html',
  '',
  'application/json, text/plain',
] as const;

/** A string of `bytes` ASCII characters. */
export const filler = (bytes: number): string => 'x'.repeat(bytes);

/** `n` copies of `item` as a JSON array's text. */
export const bigArray = (n: number, item = '1'): string =>
  `[${Array.from({ length: n }, () => item).join(',')}]`;
