import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../../test/helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../../test/helpers/harness.ts';
import { ManualClock } from '../shared/clock.ts';

const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const clock = new ManualClock(NOW);
let h: Harness;
before(async () => {
  h = await harness({ clock });
});
after(() => h.close());

const post = (
  url: string,
  payload: unknown,
  headers: Record<string, string> = { authorization: basic(WRITE_KEYS.web) },
) =>
  h.server.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

const stored = async () => h.app.store.events.readAfter(0, 10_000);

describe('ingest: authentication', () => {
  test('a missing write key is a 401 that says how to send one', async () => {
    const res = await post('/v1/track', { userId: 'u', event: 'E' }, {});
    assert.equal(res.statusCode, 401);
    assert.match(res.json().error.message, /missing write key/);
  });
  test('an unknown write key is a 401', async () => {
    const res = await post('/v1/track', { userId: 'u', event: 'E' }, { authorization: basic('nope') });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().error.code, 'unauthorized');
  });
  test('writeKey in the body authenticates, and is not stored with the message', async () => {
    const res = await post(
      '/v1/track',
      { writeKey: WRITE_KEYS.backend, userId: 'u-body', event: 'E', messageId: 'body-key' },
      {},
    );
    assert.equal(res.statusCode, 200);
    const event = (await stored()).find((e) => e.messageId === 'body-key');
    assert.equal(event?.sourceId, 'backend');
    assert.equal('writeKey' in (event?.message ?? {}), false);
  });
});

describe('ingest: the single-call routes', () => {
  for (const [route, body, name] of [
    ['identify', { userId: 'u1', traits: { email: 'A@x.com' } }, null],
    ['track', { userId: 'u1', event: 'Product Added', properties: { price: 12 } }, 'Product Added'],
    ['page', { anonymousId: 'a1', name: 'Home' }, 'Home'],
    ['screen', { anonymousId: 'a1', name: 'Cart' }, 'Cart'],
    ['group', { userId: 'u1', groupId: 'g1' }, null],
    ['alias', { userId: 'u1', previousId: 'a1' }, null],
  ] as const) {
    test(`POST /v1/${route} stores a ${route} message`, async () => {
      const messageId = `single-${route}`;
      const res = await post(`/v1/${route}`, { ...body, messageId, timestamp: '2026-11-29T11:00:00.000Z' });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { success: true, accepted: 1, duplicates: 0 });
      const event = (await stored()).find((e) => e.messageId === messageId);
      assert.ok(event);
      assert.equal(event.type, route);
      assert.equal(event.sourceId, 'web');
      assert.equal(event.name, name);
      assert.equal(event.timestamp, Date.parse('2026-11-29T11:00:00.000Z'));
      assert.equal(event.receivedAt, NOW);
    });
  }
  test('the route decides the type, whatever the body says', async () => {
    const res = await post('/v1/identify', { type: 'track', userId: 'u2', messageId: 'route-type' });
    assert.equal(res.statusCode, 200);
    assert.equal((await stored()).find((e) => e.messageId === 'route-type')?.type, 'identify');
  });
});

describe('ingest: bad input gets a 400 that says what is wrong', () => {
  const cases: [string, string, unknown, RegExp][] = [
    ['malformed JSON', '/v1/batch', '{"batch": [', /not valid JSON/],
    ['a body that is not an object', '/v1/track', '[1,2]', /JSON object/],
    ['a batch without a batch array', '/v1/batch', { messages: [] }, /"batch" array/],
    ['an empty batch', '/v1/batch', { batch: [] }, /"batch" is empty/],
  ];
  for (const [what, url, payload, message] of cases) {
    test(what, async () => {
      const res = await post(url, payload);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().error.message, message);
    });
  }
  test('a wrong content type', async () => {
    const res = await h.server.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(WRITE_KEYS.web) },
      payload: 'a=b',
    });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error.message, /Content-Type must be application\/json/);
  });
  test('text/plain JSON (sendBeacon) is accepted', async () => {
    const res = await h.server.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { 'content-type': 'text/plain', authorization: basic(WRITE_KEYS.web) },
      payload: JSON.stringify({ anonymousId: 'beacon', event: 'Page Left' }),
    });
    assert.equal(res.statusCode, 200, res.body);
  });
  test('a request over 500 KB is a 413 naming the limit', async () => {
    const big = {
      batch: [{ type: 'track', userId: 'u', event: 'E', properties: { pad: 'x'.repeat(600 * 1024) } }],
    };
    const res = await post('/v1/batch', big);
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().error.code, 'request_too_large');
    assert.match(res.json().error.message, /500 KB per request/);
  });
  test('a message over 32 KB is rejected by index; the rest of the batch is stored', async () => {
    const batch = [
      {
        type: 'track',
        userId: 'u',
        event: 'Big',
        messageId: 'big-1',
        properties: { pad: 'x'.repeat(33 * 1024) },
      },
      { type: 'track', userId: 'u', event: 'Small', messageId: 'small-1' },
    ];
    const res = await post('/v1/batch', { batch });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.accepted, 1);
    assert.equal(body.rejected.length, 1);
    assert.equal(body.rejected[0].index, 0);
    assert.equal(body.rejected[0].code, 'message_too_large');
    assert.match(body.rejected[0].message, /32 KB/);
    const ids = (await stored()).map((e) => e.messageId);
    assert.ok(ids.includes('small-1'));
    assert.ok(!ids.includes('big-1'));
  });
  test('a mixed batch lists each rejected message with its index and reason', async () => {
    const batch = [
      { type: 'track', userId: 'u', event: 'Fine', messageId: 'mixed-ok-1' },
      { type: 'track', event: 'No one' },
      { type: 'track', userId: 'u' },
      { type: 'teleport', userId: 'u' },
      'not an object',
      { type: 'alias', previousId: 'a' },
      { type: 'alias', userId: 'u' },
      { type: 'group', userId: 'u' },
      { type: 'track', userId: 'u', event: 'Bad time', timestamp: 'yesterday-ish' },
      { type: 'track', userId: 'u', event: 'Future', timestamp: '2026-12-01T12:00:00.000Z' },
      { type: 'identify', userId: 'u', traits: 'not-an-object' },
      { type: 'identify', anonymousId: 'a', messageId: 'mixed-ok-2' },
    ];
    const res = await post('/v1/batch', { batch });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.accepted, 2);
    const byIndex = new Map<number, { code: string; message: string }>(
      body.rejected.map((r: { index: number; code: string; message: string }) => [r.index, r]),
    );
    assert.deepEqual([...byIndex.keys()], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.match(byIndex.get(1)!.message, /userId or an anonymousId/);
    assert.match(byIndex.get(2)!.message, /track needs `event`/);
    assert.match(byIndex.get(3)!.message, /type must be one of/);
    assert.match(byIndex.get(4)!.message, /JSON object/);
    assert.match(byIndex.get(5)!.message, /alias needs a userId/);
    assert.match(byIndex.get(6)!.message, /previousId/);
    assert.match(byIndex.get(7)!.message, /groupId/);
    assert.equal(byIndex.get(8)!.code, 'invalid_timestamp');
    assert.equal(byIndex.get(9)!.code, 'timestamp_in_future');
    assert.match(byIndex.get(10)!.message, /traits/);
    const ids = (await stored()).map((e) => e.messageId);
    assert.ok(ids.includes('mixed-ok-1') && ids.includes('mixed-ok-2'));
  });
});

describe('ingest: dedupe and timestamps', () => {
  test('a repeated messageId from the same source is acknowledged but stored once', async () => {
    const message = { type: 'track', userId: 'u', event: 'Once', messageId: 'dup-1' };
    const first = await post('/v1/batch', { batch: [message, message] });
    assert.deepEqual(first.json(), { success: true, accepted: 2, duplicates: 1 });
    const again = await post('/v1/batch', { batch: [message] });
    assert.deepEqual(again.json(), { success: true, accepted: 1, duplicates: 1 });
    const other = await post('/v1/batch', { batch: [message] }, { authorization: basic(WRITE_KEYS.backend) });
    assert.deepEqual(
      other.json(),
      { success: true, accepted: 1, duplicates: 0 },
      'another source is a different stream',
    );
    assert.equal((await stored()).filter((e) => e.messageId === 'dup-1').length, 2);
  });
  test('a message without a messageId dedupes on its content', async () => {
    const message = { type: 'track', userId: 'u', event: 'No id', timestamp: '2026-11-29T10:00:00.000Z' };
    await post('/v1/track', message);
    const again = await post('/v1/track', message);
    assert.equal(again.json().duplicates, 1);
  });
  test('a retry sent later, even with another timestamp, is a duplicate', async () => {
    const message = { userId: 'u', event: 'Retried', messageId: 'retry-1' };
    await post('/v1/track', {
      ...message,
      timestamp: '2026-11-29T10:00:00.000Z',
      sentAt: '2026-11-29T10:00:01Z',
    });
    const again = await post('/v1/track', {
      ...message,
      timestamp: '2026-11-29T11:00:00.000Z',
      sentAt: '2026-11-29T11:30:00Z',
    });
    assert.equal(again.json().duplicates, 1);
    assert.equal((await stored()).filter((e) => e.messageId === 'retry-1').length, 1);
  });
  test('a message without a messageId dedupes on its content when a retry changes only sentAt', async () => {
    const message = { userId: 'u', event: 'No id, retried', timestamp: '2026-11-29T10:00:00.000Z' };
    await post('/v1/track', { ...message, sentAt: '2026-11-29T10:00:01Z' });
    const again = await post('/v1/track', { ...message, sentAt: '2026-11-29T10:05:00Z' });
    assert.equal(again.json().duplicates, 1);
    const other = await post('/v1/track', { ...message, event: 'No id, another' });
    assert.equal(other.json().duplicates, 0, 'other content is another event');
  });
  test('client clock skew is corrected with sentAt', async () => {
    // The client's clock runs 10 minutes fast: it says it sent at 12:10 what happened at 12:05.
    await post('/v1/track', {
      userId: 'u',
      event: 'Skewed',
      messageId: 'skew-1',
      timestamp: '2026-11-29T12:05:00.000Z',
      sentAt: '2026-11-29T12:10:00.000Z',
    });
    const event = (await stored()).find((e) => e.messageId === 'skew-1');
    assert.equal(event?.timestamp, Date.parse('2026-11-29T11:55:00.000Z'));
  });
  test('originalTimestamp is used when timestamp is absent; batch-level sentAt applies', async () => {
    await post('/v1/batch', {
      sentAt: '2026-11-29T12:00:00.000Z',
      batch: [
        {
          type: 'track',
          userId: 'u',
          event: 'Orig',
          messageId: 'orig-1',
          originalTimestamp: '2026-11-29T09:00:00.000Z',
        },
      ],
    });
    assert.equal(
      (await stored()).find((e) => e.messageId === 'orig-1')?.timestamp,
      Date.parse('2026-11-29T09:00:00.000Z'),
    );
  });
  test('no timestamp at all means now', async () => {
    await post('/v1/track', { userId: 'u', event: 'Now', messageId: 'now-1' });
    assert.equal((await stored()).find((e) => e.messageId === 'now-1')?.timestamp, NOW);
  });
  test('batch-level context is merged into every message; the message wins on conflicts', async () => {
    await post('/v1/batch', {
      context: { ip: '1.2.3.4', locale: 'en-US' },
      batch: [{ type: 'track', userId: 'u', event: 'Ctx', messageId: 'ctx-1', context: { locale: 'de-DE' } }],
    });
    const event = (await stored()).find((e) => e.messageId === 'ctx-1');
    assert.deepEqual(event?.message.context, { ip: '1.2.3.4', locale: 'de-DE' });
  });
  test('/v1/import is the batch route', async () => {
    const res = await post('/v1/import', { batch: [{ type: 'track', userId: 'u', event: 'Imported' }] });
    assert.equal(res.statusCode, 200);
  });
});

test('an unknown route is a 404 with a reason; /healthz answers', async () => {
  assert.equal((await h.server.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const res = await h.server.inject({ method: 'POST', url: '/v1/nope' });
  assert.equal(res.statusCode, 404);
  assert.match(res.json().error.message, /no route/);
});
