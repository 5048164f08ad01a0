// The seeded request generator: `count` requests over every public route, about a third of them
// valid, the rest hostile in one way or another. The same seed gives the same requests.
import { prng } from '../../../src/shared/prng.ts';
import { segmentAuth } from '../setup.ts';
import { HOSTILE_NUMBERS, chance, filler, pick } from './hostile.ts';
import type { FuzzRequest, Gen } from './request.ts';
import { finish, messageKey } from './request.ts';
import { otherRequest } from './admin.ts';
import { cioRequest, hookRequest } from './customerio.ts';
import { SEGMENT_TYPES, mutateMessage, validMessage } from './segment.ts';

/** Auth for the Segment routes: the right key mostly, and every way of getting it wrong. */
function segmentAuthHeader(g: Gen): { headers: Record<string, string>; shape?: string } {
  if (chance(g.rand, 0.9)) return { headers: { authorization: segmentAuth() } };
  const variant = pick(g.rand, ['missing', 'wrong', 'bearer', 'garbage', 'empty-user', 'colon-only']);
  const headers: Record<string, string> = {
    missing: {},
    wrong: { authorization: segmentAuth('not-a-key') },
    bearer: { authorization: 'Bearer rel-web-write-key-0123' },
    garbage: { authorization: 'Basic !!!not base64!!!' },
    'empty-user': { authorization: `Basic ${Buffer.from(':').toString('base64')}` },
    'colon-only': { authorization: 'Basic ' },
  }[variant]!;
  return { headers, shape: `auth:${variant}` };
}

/** Auth shapes after which `writeKey` in the body is the key used. */
const BODY_KEY_HONOURED = new Set(['auth:missing', 'auth:bearer', 'auth:empty-user', 'auth:colon-only']);

function segmentSingle(g: Gen): FuzzRequest {
  const type = pick(g.rand, SEGMENT_TYPES);
  const messageId = g.id('m');
  const message = validMessage(g.rand, type, messageId);
  const auth = segmentAuthHeader(g);
  const inBody = chance(g.rand, 0.05);
  if (inBody) message.writeKey = 'rel-web-write-key-0123';
  const hostile = chance(g.rand, 0.55);
  const mutated = hostile ? mutateMessage(g.rand, message) : undefined;
  const contentType = chance(g.rand, 0.05) ? 'text/plain' : 'application/json';
  const base = {
    shape: [`/v1/${type}`, mutated?.shape ?? 'valid', auth.shape, inBody ? 'writeKey-in-body' : undefined]
      .filter(Boolean)
      .join('/'),
    method: 'POST' as const,
    path: `/v1/${type}`,
    headers: auth.headers,
    tracked: [mutated && !mutated.trackable ? undefined : messageKey('web', messageId)],
    // A Basic header naming a user wins over writeKey in the body; one naming none falls back to it.
    valid: !hostile && (auth.shape === undefined || (inBody && BODY_KEY_HONOURED.has(auth.shape))),
  };
  return finish(
    g,
    base,
    { text: mutated?.text ?? JSON.stringify(message), contentType },
    hostile ? 0.15 : 0.1,
  );
}

function segmentBatch(g: Gen): FuzzRequest {
  const route = chance(g.rand, 0.8) ? '/v1/batch' : '/v1/import';
  const size = chance(g.rand, 0.02) ? 10_000 : pick(g.rand, [1, 2, 5, 10, 20, 50, 100]);
  const auth = segmentAuthHeader(g);
  const texts: string[] = [];
  const tracked: (string | undefined)[] = [];
  const shapes = new Set<string>();
  let allValid = auth.shape === undefined;
  if (size === 10_000) {
    // Ten thousand tiny messages, each missing what it needs: one response listing every rejection.
    for (let i = 0; i < size; i++) texts.push('{"type":"track"}');
    tracked.push(...texts.map(() => undefined));
    shapes.add('10k-invalid-messages');
    allValid = false;
  } else {
    const hostileShare = pick(g.rand, [0, 0, 0.1, 0.5, 1]);
    for (let i = 0; i < size; i++) {
      const messageId = g.id('m');
      const type = pick(g.rand, SEGMENT_TYPES);
      const typed = { ...validMessage(g.rand, type, messageId), type };
      if (chance(g.rand, hostileShare)) {
        const mutated = mutateMessage(g.rand, typed);
        shapes.add(mutated.shape);
        texts.push(mutated.text);
        tracked.push(mutated.trackable ? messageKey('web', messageId) : undefined);
        allValid = false;
      } else {
        texts.push(JSON.stringify(typed));
        tracked.push(messageKey('web', messageId));
      }
    }
    if (size === 100 && chance(g.rand, 0.3)) {
      // Over 500 KB in all, each message under 32 KB.
      for (let i = 0; i < texts.length; i++) texts[i] = `{"pad":"${filler(6_000)}",${texts[i]!.slice(1)}`;
      shapes.add('oversize-request');
      allValid = false;
    }
  }
  let envelope = `{"batch":[${texts.join(',')}]`;
  if (chance(g.rand, 0.15)) {
    const value = pick(g.rand, HOSTILE_NUMBERS);
    envelope += `,"sentAt":${value}`;
    shapes.add(`batch-sentAt=${value}`);
    allValid = false;
  } else if (chance(g.rand, 0.2)) envelope += `,"sentAt":"${new Date().toISOString()}"`;
  if (chance(g.rand, 0.1)) {
    envelope += `,"context":{"traits":{"email":"batch@example.com"},"__proto__":{"x":1}}`;
    shapes.add('batch-context-proto');
    allValid = false;
  }
  if (chance(g.rand, 0.05)) {
    envelope = pick(g.rand, ['{"batch":{}', '{"batch":null', '{"batch":"x"', '{"messages":[]']);
    shapes.add(`batch-not-array:${envelope}`);
    tracked.fill(undefined);
    allValid = false;
  }
  const base = {
    shape: [route, `size=${size}`, ...shapes, auth.shape].filter(Boolean).join('/'),
    method: 'POST' as const,
    path: route,
    headers: auth.headers,
    tracked,
    valid: allValid,
  };
  return finish(g, base, { text: `${envelope}}`, contentType: 'application/json' }, 0.1);
}

/** A valid request sent again as is: acknowledged again, stored once. */
function retry(g: Gen): FuzzRequest | undefined {
  if (g.sent.length === 0) return undefined;
  const earlier = pick(g.rand, g.sent);
  return { ...earlier, n: g.n, shape: `retry-of-${earlier.n}:${earlier.shape}` };
}

/** The requests of a seeded run, generated as they are taken. */
export function* fuzzRequests(seed: number, count: number): Generator<FuzzRequest> {
  const rand = prng(seed);
  let next = 0;
  const g: Gen = { rand, seed, n: 0, id: (kind) => `fz${seed}-${kind}-${next++}`, sent: [] };
  for (g.n = 0; g.n < count; g.n++) {
    const roll = rand();
    const request =
      roll < 0.3
        ? segmentSingle(g)
        : roll < 0.45
          ? segmentBatch(g)
          : roll < 0.47
            ? (retry(g) ?? segmentSingle(g))
            : roll < 0.7
              ? cioRequest(g)
              : roll < 0.78
                ? hookRequest(g)
                : otherRequest(g);
    if (
      request.valid &&
      request.tracked.some((t) => t !== undefined) &&
      (request.path.startsWith('/v1/') || request.path.includes('/events'))
    ) {
      g.sent.push(request);
      if (g.sent.length > 200) g.sent.shift();
    }
    yield request;
  }
}
