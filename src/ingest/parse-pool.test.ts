import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Harness } from '../../test/helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../../test/helpers/harness.ts';
import { buildServer } from '../server/server.ts';
import { serverServices } from '../app/services.ts';
import { ManualClock } from '../shared/clock.ts';
import { checkRequest } from './check-request.ts';
import { ParsePool } from './parse-pool.ts';

const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const context = { receivedAt: NOW, maxFutureSkewMs: 3_600_000 };
const bytes = (value: unknown): Buffer =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

const mixedBatch = {
  sentAt: '2026-11-29T11:59:59.000Z',
  context: { library: { name: 'analytics.js' } },
  batch: [
    {
      type: 'track',
      userId: 'u1',
      event: 'Order Completed',
      messageId: 'm1',
      timestamp: '2026-11-29T11:00:00Z',
    },
    { type: 'page', anonymousId: 'a1', name: 'Home' },
    { type: 'track', userId: 'u1' },
    { type: 'identify', userId: 42, traits: { email: 'x@example.com' } },
    { type: 'shout', userId: 'u1' },
    { type: 'track', userId: 'u1', event: 'Late', timestamp: '2026-11-30T12:00:00Z' },
    { type: 'track', userId: 'u1', event: 'Big', properties: { pad: 'x'.repeat(33 * 1024) } },
    'not an object',
  ],
};

/** `{"a":{"a":…{}…}}`, `depth` objects deep, as JSON text (JSON.stringify overflows on it). */
const nested = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
const valid = (messageId: string) => ({ type: 'track', userId: 'u1', event: 'E', messageId });
const json = (value: unknown): string => JSON.stringify(value);
const deepBatch = `{"batch":[${json(valid('before-deep'))},${json(valid('deep')).slice(0, -1)},"properties":${nested(100_000)}},${json(valid('after-deep'))}]}`;
const deepTrack = `{"userId":"u1","event":"E","traits":${nested(10_000)}}`;
const deepContextBatch = `{"context":${nested(70)},"batch":[${json(valid('shallow'))}]}`;
const badTimesBatch = {
  batch: [
    valid('good-time'),
    { ...valid('huge-timestamp'), timestamp: 1.29e307 },
    { ...valid('huge-sent-at'), sentAt: 1e300 },
    { ...valid('ms-past-range'), timestamp: 8640000000000001 },
  ],
};

describe('parse pool: workers answer as the inline check does', () => {
  const pool = new ParsePool({ workers: 2, inlineBelowBytes: 0 });
  before(() => pool.warm());
  after(() => pool.close());

  const bodies: [string, Buffer, 'batch' | 'track'][] = [
    ['a mixed batch with defaults and rejections', bytes(mixedBatch), 'batch'],
    ['a single message with a body write key', bytes({ writeKey: 'k', userId: 'u', event: 'E' }), 'track'],
    ['malformed JSON', bytes('{"batch": ['), 'batch'],
    ['an empty body', Buffer.alloc(0), 'batch'],
    ['a body that is not an object', bytes('[1,2]'), 'track'],
    ['an empty batch', bytes({ batch: [] }), 'batch'],
    [
      'an own __proto__ key',
      bytes('{"batch":[{"type":"track","userId":"u","event":"E","__proto__":{"x":1}}]}'),
      'batch',
    ],
    [
      'an escaped __proto__ key',
      bytes('{"batch":[{"type":"track","userId":"u","event":"E","\\u005f_proto__":{"x":1}}]}'),
      'batch',
    ],
    ['a constructor.prototype key', bytes('{"batch":[{"constructor":{"prototype":{"x":1}}}]}'), 'batch'],
    [
      'a harmless constructor key',
      bytes('{"batch":[{"type":"track","userId":"u","event":"E","properties":{"constructor":"Lego"}}]}'),
      'batch',
    ],
    ['a batch with one message nested 100,000 deep', bytes(deepBatch), 'batch'],
    ['a single message nested 10,000 deep', bytes(deepTrack), 'track'],
    ['a batch whose own context nests too deep', bytes(deepContextBatch), 'batch'],
    ['a batch with times out of range', bytes(badTimesBatch), 'batch'],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), 'batch'],
  ];
  for (const [what, body, call] of bodies) {
    test(what, async () => {
      const inline = checkRequest(Uint8Array.from(body), call, context);
      assert.deepEqual(await pool.check(body, call, context), inline);
    });
  }

  test('the mixed batch: rows for the valid messages, each rejection by index with its code', () => {
    const checked = checkRequest(bytes(mixedBatch), 'batch', context);
    assert.equal(checked.kind, 'checked');
    if (checked.kind !== 'checked') return;
    assert.deepEqual(
      checked.rows.map((r) => [r[1].startsWith('sha1-') ? 'content-id' : r[1], r[2], r[3], r[4], r[5]]),
      [
        ['m1', 'track', 'u1', null, 'Order Completed'],
        ['content-id', 'page', null, 'a1', 'Home'],
        ['content-id', 'identify', '42', null, null],
      ],
    );
    // Skew: the client's clock is 1 s behind (sentAt), so its timestamps move 1 s later.
    assert.equal(checked.rows[0]![6], Date.parse('2026-11-29T11:00:01Z'));
    assert.deepEqual(JSON.parse(checked.rows[0]![8]).context, { library: { name: 'analytics.js' } });
    assert.deepEqual(
      checked.rejected.map((r) => [r.index, r.code]),
      [
        [2, 'invalid_message'],
        [4, 'invalid_message'],
        [5, 'timestamp_in_future'],
        [6, 'message_too_large'],
        [7, 'invalid_message'],
      ],
    );
    assert.deepEqual(checked.rejectedTypes, ['track', 'unknown', 'track', 'track', 'unknown']);
  });

  test('a forbidden key refuses only its message, naming where; a harmless constructor key is stored', () => {
    const expected = [
      [6, '__proto__'],
      [7, '__proto__'],
      [8, 'constructor'],
    ] as const;
    for (const [at, key] of expected) {
      const checked = checkRequest(bodies[at]![1], 'batch', context);
      assert.equal(checked.kind, 'checked');
      if (checked.kind !== 'checked') return;
      assert.deepEqual(
        checked.rejected.map((r) => [r.index, r.code]),
        [[0, 'forbidden_key']],
      );
      assert.match(checked.rejected[0]!.message, new RegExp(`\`${key}\`: a "${key}" key`));
    }
    const harmless = checkRequest(bodies[9]![1], 'batch', context);
    assert.equal(harmless.kind === 'checked' && harmless.rows.length, 1);
  });

  test('a message nested too deep is refused by index, naming where and the limit; the rest are stored', () => {
    const checked = checkRequest(bytes(deepBatch), 'batch', context);
    assert.equal(checked.kind, 'checked');
    if (checked.kind !== 'checked') return;
    assert.deepEqual(
      checked.rows.map((r) => r[1]),
      ['before-deep', 'after-deep'],
    );
    assert.deepEqual(
      checked.rejected.map((r) => [r.index, r.code]),
      [[1, 'too_deeply_nested']],
    );
    assert.match(checked.rejected[0]!.message, /^`properties\.a\.a\.a….*` nests .* the limit is 64$/);
    const single = checkRequest(bytes(deepTrack), 'track', context);
    assert.equal(single.kind === 'checked' && single.rejected[0]?.code, 'too_deeply_nested');
    const shared = checkRequest(bytes(deepContextBatch), 'batch', context);
    assert.equal(shared.kind, 'invalid');
    assert.match(shared.kind === 'invalid' ? shared.message : '', /^`context\.a\.a/);
  });

  test('times out of range refuse their message only, naming the field', () => {
    const checked = checkRequest(bytes(badTimesBatch), 'batch', context);
    assert.equal(checked.kind, 'checked');
    if (checked.kind !== 'checked') return;
    assert.deepEqual(
      checked.rows.map((r) => r[1]),
      ['good-time'],
    );
    assert.deepEqual(
      checked.rejected.map((r) => [r.index, r.code, r.message.split(' ')[0]]),
      [
        [1, 'invalid_timestamp', 'timestamp'],
        [2, 'invalid_timestamp', 'sentAt'],
        [3, 'invalid_timestamp', 'timestamp'],
      ],
    );
  });

  test('bytes that are not UTF-8 are unreadable, not decoded into something else', () => {
    const checked = checkRequest(Buffer.from([0x7b, 0x7d, 0xc3]), 'track', context);
    assert.deepEqual(checked, {
      kind: 'unreadable',
      code: 'invalid_utf8',
      message: 'the request body is not valid UTF-8',
    });
  });

  test('a small body from a shared buffer pool is copied, not moved, to a worker', async () => {
    const pooled = Buffer.from(JSON.stringify({ userId: 'u', event: 'E' }));
    const before = pooled.toString();
    await pool.check(pooled, 'track', context);
    assert.equal(pooled.toString(), before);
  });

  test('bodies arriving while the workers load are checked inline, with the same answers', async () => {
    const loading = new ParsePool({ workers: 1, inlineBelowBytes: 0 });
    try {
      const body = bytes(mixedBatch);
      assert.deepEqual(await loading.check(body, 'batch', context), checkRequest(body, 'batch', context));
    } finally {
      await loading.close();
    }
  });

  test('once closed, bodies are checked inline', async () => {
    const closing = new ParsePool({ workers: 1, inlineBelowBytes: 0 });
    await closing.warm();
    await closing.check(bytes({ userId: 'u', event: 'E' }), 'track', context);
    await closing.close();
    const checked = await closing.check(bytes({ userId: 'u', event: 'E' }), 'track', context);
    assert.equal(checked.kind, 'checked');
  });
});

describe('ingest over HTTP with every body checked on a worker', () => {
  let h: Harness;
  let server: FastifyInstance;
  let url: string;
  before(async () => {
    h = await harness({ clock: new ManualClock(NOW) });
    const pool = new ParsePool({ workers: 1, inlineBelowBytes: 0 });
    await pool.warm();
    server = buildServer(serverServices(h.app), { ingestParse: pool });
    url = await server.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await server.close();
    await h.close();
  });
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEYS.web), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('a partial batch stores the valid messages and names each rejected one', async () => {
    const res = await post('/v1/batch', mixedBatch);
    assert.equal(res.status, 400);
    const body = (await res.json()) as {
      accepted: number;
      duplicates: number;
      rejected: { index: number }[];
    };
    assert.equal(body.accepted, 3);
    assert.deepEqual(
      body.rejected.map((r) => r.index),
      [2, 4, 5, 6, 7],
    );
    const stored = await h.app.store.events.readAfter(0, 100);
    const m1 = stored.find((e) => e.messageId === 'm1');
    assert.equal(m1?.sourceId, 'web');
    assert.equal(m1?.receivedAt, NOW);
    assert.equal(m1?.message.type, 'track');
  });

  test('a repeated batch is acknowledged as duplicates', async () => {
    const batch = { batch: [{ type: 'track', userId: 'u', event: 'E', messageId: 'again' }] };
    assert.deepEqual(await (await post('/v1/batch', batch)).json(), {
      success: true,
      accepted: 1,
      duplicates: 0,
    });
    assert.deepEqual(await (await post('/v1/import', batch)).json(), {
      success: true,
      accepted: 1,
      duplicates: 1,
    });
  });

  test('writeKey in the body authenticates a single message, and is not stored', async () => {
    const res = await post(
      '/v1/identify',
      { writeKey: WRITE_KEYS.backend, userId: 'u-body', messageId: 'worker-body-key' },
      { authorization: '' },
    );
    assert.equal(res.status, 200);
    const event = (await h.app.store.events.readAfter(0, 100)).find((e) => e.messageId === 'worker-body-key');
    assert.equal(event?.sourceId, 'backend');
    assert.equal('writeKey' in (event?.message ?? {}), false);
  });

  for (const [what, body, status, message] of [
    ['malformed JSON', '{"batch": [', 400, /not valid JSON/],
    [
      'an own __proto__ key',
      '{"batch":[{"type":"track","userId":"u","event":"E","__proto__":{}}]}',
      400,
      /`__proto__`: a "__proto__" key could change an object.s prototype/,
    ],
    ['an empty body', '', 400, /body is empty/],
    ['an empty batch', { batch: [] }, 400, /"batch" is empty/],
  ] as const) {
    test(`${what} is a ${status}`, async () => {
      const res = await post('/v1/batch', body);
      assert.equal(res.status, status);
      assert.match(((await res.json()) as { error: { message: string } }).error.message, message);
    });
  }

  test('an unknown write key in the header is a 401', async () => {
    const res = await post(
      '/v1/batch',
      { batch: [{ type: 'track', userId: 'u', event: 'E' }] },
      { authorization: basic('nope') },
    );
    assert.equal(res.status, 401);
  });
});
