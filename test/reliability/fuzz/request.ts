// A fuzzed request as data, and the keys by which the messages it carries are found in the log.
import type { Rand } from './hostile.ts';
import { BAD_UTF8, NON_OBJECTS, NOT_JSON, WRONG_CONTENT_TYPES, chance, pick, truncated } from './hostile.ts';

export interface FuzzRequest {
  /** Position in the run (0-based). */
  n: number;
  /** What was done to it, e.g. `track/number:timestamp=1.29e307`. */
  shape: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD';
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * Per message the request carries (one for a single-message route, one per batch index), the
   * key under which it must be in the log exactly once if acknowledged; undefined when the
   * message cannot be found by a key (no messageId of its own, or a hostile one).
   */
  tracked: (string | undefined)[];
  /** A request with nothing wrong in it: it must be acknowledged. */
  valid: boolean;
}

/** The log key of a message found by its source and messageId. */
export const messageKey = (source: string, messageId: string): string => `m\u0001${source}\u0001${messageId}`;

/** The log key of the one event of `type` and `name` for `userId` (ids used once, by one request). */
export const userKey = (source: string, userId: string, type: string, name: string | null): string =>
  `u\u0001${source}\u0001${userId}\u0001${type}\u0001${name ?? ''}`;

/** What a JSON body can be, before a body-level mutation. */
export interface JsonBody {
  text: string;
  contentType: string | undefined;
}

/** Marks the string a bad-UTF-8 mutation replaces. */
export const UTF8_MARKER = '@@UTF8@@';

/** Body-level mutations every JSON route takes: cut, emptied, not an object, not JSON, wrong type, bad bytes. */
export const BODY_MUTATIONS = [
  'truncated',
  'empty',
  'non-object',
  'not-json',
  'content-type',
  'bad-utf8',
] as const;
export type BodyMutation = (typeof BODY_MUTATIONS)[number];

/** Applies one body-level mutation; returns the bytes, the content type and the shape's suffix. */
export function mutateBody(
  rand: Rand,
  body: JsonBody,
  mutation: BodyMutation,
): { bytes: Buffer; contentType: string | undefined; shape: string; keepsMessage: boolean } {
  const plain = (text: string) => Buffer.from(text.replaceAll(UTF8_MARKER, 'note'));
  switch (mutation) {
    case 'truncated':
      return {
        bytes: plain(truncated(rand, body.text)),
        contentType: body.contentType,
        shape: 'truncated-json',
        keepsMessage: false,
      };
    case 'empty': {
      const contentType = chance(rand, 0.7) ? body.contentType : undefined;
      return {
        bytes: Buffer.alloc(0),
        contentType,
        shape: `empty-body:content-type=${contentType ?? 'none'}`,
        keepsMessage: false,
      };
    }
    case 'non-object': {
      const text = pick(rand, NON_OBJECTS);
      return {
        bytes: plain(text),
        contentType: body.contentType,
        shape: `non-object:${text}`,
        keepsMessage: false,
      };
    }
    case 'not-json': {
      const text = pick(rand, NOT_JSON);
      return {
        bytes: plain(text),
        contentType: body.contentType,
        shape: `not-json:${JSON.stringify(text)}`,
        keepsMessage: false,
      };
    }
    case 'content-type': {
      const type = pick(rand, WRONG_CONTENT_TYPES);
      return {
        bytes: plain(body.text),
        contentType: type,
        shape: `content-type:${type === undefined ? 'none' : JSON.stringify(type)}`,
        keepsMessage: true,
      };
    }
    case 'bad-utf8': {
      const bytes = pick(rand, BAD_UTF8);
      const at = body.text.indexOf(UTF8_MARKER);
      const joined =
        at < 0
          ? Buffer.concat([Buffer.from(body.text.slice(0, -1)), bytes, Buffer.from(body.text.slice(-1))])
          : Buffer.concat([
              Buffer.from(body.text.slice(0, at)),
              bytes,
              Buffer.from(body.text.slice(at + UTF8_MARKER.length)),
            ]);
      return {
        bytes: joined,
        contentType: body.contentType,
        shape: `bad-utf8:${bytes.toString('hex')}`,
        keepsMessage: true,
      };
    }
  }
}

/** The generator's state shared by the route builders: the seed's PRNG and ids unique to the run. */
export interface Gen {
  rand: Rand;
  seed: number;
  n: number;
  /** A fresh id, unique in this run (and across seeds). */
  id(kind: string): string;
  /** Earlier valid requests, for retries. */
  sent: FuzzRequest[];
}

/** Finishes a JSON request: maybe one body-level mutation, then the bytes and headers. */
export function finish(
  g: Gen,
  base: Omit<FuzzRequest, 'body' | 'n'>,
  body: JsonBody,
  mutate: number,
): FuzzRequest {
  if (!chance(g.rand, mutate)) {
    const headers = { ...base.headers, ...(body.contentType ? { 'content-type': body.contentType } : {}) };
    return { ...base, n: g.n, headers, body: Buffer.from(body.text.replaceAll(UTF8_MARKER, 'note')) };
  }
  const mutated = mutateBody(g.rand, body, pick(g.rand, BODY_MUTATIONS));
  const headers = {
    ...base.headers,
    ...(mutated.contentType ? { 'content-type': mutated.contentType } : {}),
  };
  return {
    ...base,
    n: g.n,
    shape: `${base.shape}/${mutated.shape}`,
    headers,
    body: mutated.bytes,
    tracked: mutated.keepsMessage ? base.tracked : base.tracked.map(() => undefined),
    valid: false,
  };
}
