// The fake's App API surface: what a Customer.io client sees on the wire, checked with plain fetch.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakeCustomerIo } from './index.ts';
import { sendWebhook, startFakeCustomerIo } from './index.ts';
import type { Answer } from './test-client.ts';
import { appClient, people } from './test-client.ts';

const T0 = Date.parse('2026-11-29T12:00:00Z');
let fake: FakeCustomerIo;
const get = appClient(() => fake);
before(async () => {
  // The rate limit has its own tests (fake-customerio-faults.test.ts); here it would only slow pages.
  fake = await startFakeCustomerIo({ appApiKeys: ['key-one', 'key-two'], rateLimit: false, now: () => T0 });
});
beforeEach(() => fake.reset());
after(() => fake.close());

/** Follows `next` from the first page to the end, the way a poller does. */
async function pageAll(segmentId: number, limit?: number) {
  const pages: Answer[] = [];
  let start = '';
  for (;;) {
    const query = new URLSearchParams({
      ...(limit !== undefined ? { limit: String(limit) } : {}),
      ...(start ? { start } : {}),
    });
    const res = await get(`/segments/${segmentId}/membership?${query.toString()}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    pages.push(res);
    start = res.body.next ?? '';
    if (!start) break;
    assert.ok(pages.length < 10_000, 'pagination does not end');
  }
  return { pages, members: pages.flatMap((p) => p.body.identifiers as { cio_id: string }[]) };
}

describe('auth', () => {
  const denied = { meta: { error: 'Unauthorized request' } };
  for (const [name, auth] of [
    ['no Authorization header', null],
    ['an unknown key', 'Bearer nope'],
    ['the key as Basic auth', `Basic ${Buffer.from('key-one:').toString('base64')}`],
    ['the bare key without a scheme', 'key-one'],
  ] as const) {
    test(`${name} is a 401 with meta.error`, async () => {
      const res = await get('/segments', auth);
      assert.equal(res.status, 401);
      assert.deepEqual(res.body, denied);
      assert.equal(res.headers.get('content-type'), 'application/json');
    });
  }
  test('every configured key is accepted as a Bearer token', async () => {
    for (const auth of ['Bearer key-one', 'Bearer key-two', 'bearer key-one'])
      assert.equal((await get('/segments', auth)).status, 200, auth);
    assert.equal(fake.authorization, 'Bearer key-one');
    assert.equal(fake.appApiKey, 'key-one');
  });
  test('a 401 reveals nothing about segments', async () => {
    fake.segments.create('vip', people(3));
    const res = await get('/segments/1/membership', null);
    assert.equal(res.status, 401);
    assert.equal(res.body.identifiers, undefined);
  });
});

describe('segments', () => {
  test('GET /segments lists every segment in the documented shape', async () => {
    fake.segments.create('vip', people(2));
    fake.segments.create('churn risk', [], { type: 'manual', description: 'by hand' });
    const res = await get('/segments');
    assert.equal(res.status, 200);
    const at = T0 / 1000;
    assert.deepEqual(res.body, {
      segments: [
        {
          id: 1,
          deduplicate_id: `1:${at}`,
          name: 'vip',
          description: '',
          state: 'finished',
          progress: null,
          type: 'dynamic',
          tags: null,
          created_at: at,
          updated_at: at,
        },
        {
          id: 2,
          deduplicate_id: `2:${at}`,
          name: 'churn risk',
          description: 'by hand',
          state: 'finished',
          progress: null,
          type: 'manual',
          tags: null,
          created_at: at,
          updated_at: at,
        },
      ],
    });
  });

  test('GET /segments/{id} wraps one segment; /customer_count counts members', async () => {
    fake.segments.create('vip', people(4));
    const one = await get('/segments/1');
    assert.deepEqual([one.status, one.body.segment.id, one.body.segment.name], [200, 1, 'vip']);
    assert.deepEqual((await get('/segments/1/customer_count')).body, { count: 4 });
  });

  test('unknown segments, non-numeric ids and unknown routes are 404s with meta.error', async () => {
    for (const path of [
      '/segments/9',
      '/segments/9/membership',
      '/segments/9/customer_count',
      '/segments/abc',
      '/segments/01/membership',
      '/segments/1/nothing',
      '/customers',
    ]) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
      assert.equal(typeof res.body.meta.error, 'string', path);
    }
  });
});

describe('membership pagination', () => {
  test('a few thousand members with a small limit: each exactly once, in cio_id order, a chain of cursors', async () => {
    fake.segments.create('big', people(3001));
    const { pages, members } = await pageAll(1, 97);
    assert.equal(pages.length, Math.ceil(3001 / 97));
    assert.equal(members.length, 3001);
    const cioIds = members.map((m) => m.cio_id);
    assert.deepEqual(cioIds, [...cioIds].sort());
    assert.equal(new Set(cioIds).size, 3001);
    for (const [i, page] of pages.entries()) {
      const last = i === pages.length - 1;
      assert.equal(page.body.identifiers.length, last ? 3001 % 97 : 97);
      assert.deepEqual(
        page.body.ids,
        page.body.identifiers.map((m: { id: string }) => m.id),
        'ids line up with identifiers',
      );
      if (!last) assert.match(page.body.next, /^[A-Za-z0-9_-]+$/, 'an opaque, URL-safe token');
    }
    assert.deepEqual(
      fake.requests.map((r) => [r.page?.chain, r.page?.page, r.page?.returned]),
      pages.map((p, i) => [1, i + 1, p.body.identifiers.length]),
    );
  });

  test('the last page has next: "" by default; an empty segment is one empty last page', async () => {
    fake.segments.create('twenty', people(20));
    fake.segments.create('empty');
    const { pages } = await pageAll(1, 10);
    assert.equal(pages.length, 2, 'a full last page still ends the chain');
    assert.equal(pages[1]?.body.next, '');
    const empty = await get('/segments/2/membership');
    assert.deepEqual(empty.body, { identifiers: [], ids: [], next: '' });
  });

  test("lastPageNext: 'omit' leaves next out of the last page only", async () => {
    const omitting = await startFakeCustomerIo({ lastPageNext: 'omit', rateLimit: false });
    try {
      omitting.segments.create('s', people(3));
      const call = appClient(() => omitting);
      const first = await call('/segments/1/membership?limit=2');
      assert.equal(typeof first.body.next, 'string');
      const last = await call(`/segments/1/membership?limit=2&start=${first.body.next}`);
      assert.deepEqual(Object.keys(last.body).sort(), ['identifiers', 'ids']);
    } finally {
      await omitting.close();
    }
  });

  test('limit defaults to 1000, allows 30000, and anything else is a 400 with meta.errors', async () => {
    fake.segments.create('big', people(2500));
    const { pages } = await pageAll(1);
    assert.deepEqual(
      pages.map((p) => p.body.identifiers.length),
      [1000, 1000, 500],
    );
    assert.equal((await get('/segments/1/membership?limit=30000')).body.identifiers.length, 2500);
    for (const limit of ['30001', '100000', '0', '-1', '1.5', 'abc']) {
      const res = await get(`/segments/1/membership?limit=${limit}`);
      assert.equal(res.status, 400, limit);
      assert.equal(res.body.meta.errors.length, 1, limit);
    }
    assert.match((await get('/segments/1/membership?limit=30001')).body.meta.errors[0], /at most 30000/);
  });

  test('a start token that is not ours, or is from another segment, is a 400', async () => {
    fake.segments.create('a', people(5));
    fake.segments.create('b', people(5, 100));
    const next = (await get('/segments/1/membership?limit=2')).body.next as string;
    for (const start of ['garbage', 'e30', Buffer.from('[1,"x",1,1]').toString('base64url')]) {
      const res = await get(`/segments/1/membership?start=${start}`);
      assert.equal(res.status, 400, start);
    }
    assert.equal((await get(`/segments/2/membership?start=${next}`)).status, 400);
    assert.equal((await get(`/segments/1/membership?start=${next}`)).status, 200);
  });

  test('membership is read live: a cursor survives changes between pages', async () => {
    const [a, b, c, d, e] = fake.segments.create('live', people(5)).members;
    const first = await get('/segments/1/membership?limit=2');
    assert.deepEqual(
      first.body.identifiers.map((m: { cio_id: string }) => m.cio_id),
      [a?.cio_id, b?.cio_id],
    );
    fake.segments.remove(1, { cio_id: b?.cio_id ?? '' }); // the cursor's own anchor leaves
    fake.segments.remove(1, { id: d?.id }); // d leaves before we reach it
    fake.segments.add(1, { cio_id: 'c00000000000', id: 'early' }); // sorts before the cursor: missed
    fake.segments.add(1, { cio_id: 'ffffffffffff', id: 'late' }); // sorts after: seen
    const second = await get(`/segments/1/membership?limit=10&start=${first.body.next}`);
    assert.equal(second.status, 200);
    assert.deepEqual(second.body.ids, [c?.id, e?.id, 'late']);
  });

  test('identifiers: a missing id or email is null there, and "" in ids', async () => {
    fake.segments.create('mixed', [
      { email: 'only@x.com' },
      { id: 'only-id' },
      { id: 'both', email: 'b@x.com' },
    ]);
    const res = await get('/segments/1/membership');
    const byId = new Map<string, unknown>(
      res.body.identifiers.map((m: { id: string | null; email: string | null }) => [m.id ?? m.email, m]),
    );
    assert.deepEqual(Object.keys(res.body.identifiers[0]).sort(), ['cio_id', 'email', 'id']);
    assert.equal((byId.get('only@x.com') as { id: unknown }).id, null);
    assert.equal((byId.get('only-id') as { email: unknown }).email, null);
    assert.deepEqual([...res.body.ids].sort(), ['', 'both', 'only-id']);
  });

  test('emailIdentifier: false leaves email out of identifiers', async () => {
    const idOnly = await startFakeCustomerIo({ emailIdentifier: false, rateLimit: false });
    try {
      idOnly.segments.create('s', people(2));
      const res = await appClient(() => idOnly)('/segments/1/membership');
      assert.deepEqual(Object.keys(res.body.identifiers[0]).sort(), ['cio_id', 'id']);
    } finally {
      await idOnly.close();
    }
  });
});

describe('in-process segment controls', () => {
  test('cio_id: assigned (12 hex digits) when absent, kept when given; one person across segments', () => {
    const [jane] = fake.segments.create('a', [{ id: 'jane', email: 'Jane@x.com' }]).members;
    assert.match(jane?.cio_id ?? '', /^[0-9a-f]{12}$/);
    const [again] = fake.segments.create('b', [{ email: 'jane@X.com' }]).members;
    assert.equal(again?.cio_id, jane?.cio_id, 'found by email, without case');
    assert.equal(again?.id, 'jane');
    assert.equal(fake.segments.add(2, { cio_id: 'abc123', id: 'bob' }).cio_id, 'abc123');
    assert.throws(() => fake.segments.add(1, { id: 'bob', email: 'jane@x.com' }), /already belongs/);
    assert.throws(() => fake.segments.add(1, {}), /at least one of/);
    assert.throws(() => fake.segments.add(9, { id: 'x' }), /no segment with id 9/);
  });

  test('get, setMembers, add, remove; changes show on the next page', async () => {
    fake.segments.create('s', people(3));
    fake.segments.setMembers(1, people(2, 10));
    assert.deepEqual(
      fake.segments.get(1)?.members.map((m) => m.id),
      ['u10', 'u11'],
    );
    fake.segments.add(1, { id: 'u12' });
    assert.equal(fake.segments.remove(1, { email: 'u10@example.com' }), true);
    assert.equal(fake.segments.remove(1, { id: 'nobody' }), false);
    assert.deepEqual((await get('/segments/1/membership')).body.ids, ['u11', 'u12']);
    assert.equal(fake.segments.get(9), undefined);
    assert.equal(fake.requests.length, 1, 'controls are not HTTP traffic');
  });
});

describe('sendWebhook (a campaign webhook action)', () => {
  test('POSTs the JSON body with the secret header; returns status and text', async () => {
    const seen: { method?: string; headers: Record<string, unknown>; body: string }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ method: req.method, headers: req.headers, body });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/customerio`;
    try {
      const body = { change: 'entered', segment_id: 7, id: 'u1', email: 'u1@example.com', cio_id: 'abc' };
      const sent = await sendWebhook(url, {
        secretHeader: 'X-Handoff-Secret',
        secret: 's3cret',
        body,
        headers: { 'X-Extra': '1' },
      });
      assert.deepEqual([sent.status, sent.body], [202, '{"accepted":true}']);
      assert.equal(seen[0]?.method, 'POST');
      assert.equal(seen[0]?.headers['x-handoff-secret'], 's3cret');
      assert.equal(seen[0]?.headers['content-type'], 'application/json');
      assert.equal(seen[0]?.headers['x-extra'], '1');
      assert.deepEqual(JSON.parse(seen[0]?.body ?? ''), body);
      await sendWebhook(url, { secretHeader: 'X-S', secret: 'x', body: '{"raw":1}', method: 'PUT' });
      assert.deepEqual([seen[1]?.method, seen[1]?.body], ['PUT', '{"raw":1}']);
    } finally {
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });
});
