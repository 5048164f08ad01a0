// The fake's disturbances and inspection: the 10/s rate limit, injected faults (including failures
// and truncation mid-pagination), the request log and the HTTP/CLI controls.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { FakeCustomerIo } from './index.ts';
import { startFakeCustomerIo } from './index.ts';
import { appClient, fakeState, people } from './test-client.ts';
import { burstAtOnce } from '../burst.ts';

const T0 = Date.parse('2026-11-29T12:00:00Z');
let t = T0;
let fake: FakeCustomerIo;
const get = appClient(() => fake);

describe('rate limit: 10 requests/s by default (on a manual clock)', () => {
  beforeEach(async () => {
    t = T0;
    fake = await startFakeCustomerIo({ now: () => t });
  });
  afterEach(() => fake.close());

  test('the 11th request inside a second is a 429 with Retry-After: 1 and the documented message', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await get('/segments')).status, 200, `request ${i + 1}`);
    const limited = await get('/segments');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.deepEqual(limited.body, { meta: { error: 'Your request is over the 10-per-second limit.' } });
  });

  test('the bucket refills one token per 100 ms; a refused request takes none; waiting Retry-After recovers', async () => {
    for (let i = 0; i < 10; i++) await get('/segments');
    for (let i = 0; i < 5; i++) assert.equal((await get('/segments')).status, 429);
    t += 100;
    assert.equal((await get('/segments')).status, 200);
    assert.equal((await get('/segments')).status, 429);
    t += 1000; // Retry-After
    for (let i = 0; i < 10; i++) assert.equal((await get('/segments')).status, 200);
  });

  test('the log marks 429s, finds requests sent inside Retry-After, and reports the peak rate', async () => {
    for (let i = 0; i < 11; i++) await get('/segments');
    const limited = fake.requests.at(-1);
    assert.deepEqual(
      [limited?.rateLimited, limited?.retryAfterSeconds, limited?.retryAt],
      [true, 1, T0 + 1000],
    );
    t += 999;
    await get('/segments'); // too early, though a token is back
    t += 1;
    await get('/segments');
    assert.deepEqual(
      fake.requestsInsideRetryAfter().map((r) => r.seq),
      [12],
    );
    assert.equal(fake.peakRequestsPerSecond(), 12);
  });

  test('a 401 is not rate limited; setRateLimit changes or lifts the budget', async () => {
    for (let i = 0; i < 20; i++) assert.equal((await get('/segments', null)).status, 401);
    assert.equal((await get('/segments')).status, 200);
    fake.setRateLimit({ perSecond: 2 });
    await get('/segments');
    await get('/segments');
    const limited = await get('/segments');
    assert.equal(limited.body.meta.error, 'Your request is over the 2-per-second limit.');
    fake.setRateLimit(undefined);
    for (let i = 0; i < 30; i++) assert.equal((await get('/segments')).status, 200);
  });

  test('a paginating client that honours 429 + Retry-After still gets every member once', async () => {
    fake.segments.create('big', people(500));
    const seen: string[] = [];
    let start = '';
    for (;;) {
      const res = await get(`/segments/1/membership?limit=20${start ? `&start=${start}` : ''}`);
      if (res.status === 429) {
        t += Number(res.headers.get('retry-after')) * 1000;
        continue;
      }
      seen.push(...res.body.ids);
      start = res.body.next;
      if (!start) break;
    }
    assert.equal(seen.length, 500);
    assert.equal(new Set(seen).size, 500);
    assert.ok(fake.requests.some((r) => r.rateLimited));
    assert.deepEqual(fake.requestsInsideRetryAfter(), []);
  });
});

describe('rate limit on the real clock', () => {
  test('a burst of 15 is cut at 10; after Retry-After the API answers again', async () => {
    fake = await startFakeCustomerIo();
    try {
      const burst = await burstAtOnce(fake, 100, () =>
        Promise.all(Array.from({ length: 15 }, () => get('/segments'))),
      );
      const limited = burst.filter((r) => r.status === 429);
      assert.equal(limited.length, 5);
      assert.equal(limited[0]?.headers.get('retry-after'), '1');
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal((await get('/segments')).status, 200);
      assert.deepEqual(fake.requestsInsideRetryAfter({ graceMs: 200 }), []);
    } finally {
      await fake.close();
    }
  });
});

describe('fault injection', () => {
  before(async () => {
    fake = await startFakeCustomerIo({ rateLimit: false });
  });
  beforeEach(() => fake.reset());
  after(() => fake.close());

  /** Pages segment 1 with `limit`, retrying a 500 once on the same start; stops on anything else. */
  async function pageWithRetry(limit: number) {
    const ids: string[] = [];
    const statuses: number[] = [];
    let start = '';
    for (let retried = false; ;) {
      const res = await get(`/segments/1/membership?limit=${limit}${start ? `&start=${start}` : ''}`);
      statuses.push(res.status);
      if (res.status === 500 && !retried) {
        retried = true;
        continue;
      }
      if (res.status !== 200) return { ids, statuses, ended: false };
      retried = false;
      ids.push(...res.body.ids);
      start = res.body.next;
      if (!start) return { ids, statuses, ended: true };
    }
  }

  test('status rate 1: every request gets that status with meta.error, before auth', async () => {
    for (const status of [500, 502, 503] as const) {
      fake.faults.set({ status: { [status]: 1 } });
      const res = await get('/segments', null);
      assert.equal(res.status, status);
      assert.deepEqual(res.body, { meta: { error: `injected ${status} error` } });
    }
    assert.deepEqual(
      fake.requests.map((r) => [r.status, r.fault]),
      [500, 502, 503].map((s) => [s, 'status']),
    );
  });

  test('an injected 429 looks like the real one: Retry-After: 1 and the documented message', async () => {
    fake.faults.set({ status: { 429: 1 } });
    const res = await get('/segments');
    assert.deepEqual([res.status, res.headers.get('retry-after')], [429, '1']);
    assert.equal(res.body.meta.error, 'Your request is over the 10-per-second limit.');
    assert.deepEqual([fake.requests[0]?.rateLimited, fake.requests[0]?.retryAfterSeconds], [true, 1]);
  });

  test('rates are seeded: the same seed replays the same sequence, near the set rate', async () => {
    const run = async (seed: number) => {
      fake.reset();
      fake.faults.set({ status: { 500: 0.3, 503: 0.2 }, seed });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await get('/segments')).status);
      return statuses;
    };
    const first = await run(7);
    assert.deepEqual(await run(7), first);
    assert.notDeepEqual(await run(8), first);
    const count = (s: number) => first.filter((x) => x === s).length;
    assert.ok(count(500) > 35 && count(500) < 85, `500s: ${count(500)}`);
    assert.ok(count(503) > 20 && count(503) < 60, `503s: ${count(503)}`);
  });

  test('failAfterPages: page n+1 of each chain is a 500 once; a retry of the same start completes', async () => {
    fake.segments.create('s', people(50));
    fake.faults.set({ failAfterPages: 2 });
    const first = await pageWithRetry(10);
    assert.deepEqual(first.statuses, [200, 200, 500, 200, 200, 200]);
    assert.deepEqual([first.ended, first.ids.length, new Set(first.ids).size], [true, 50, 50]);
    const failed = fake.requests.filter((r) => r.fault);
    assert.deepEqual(
      failed.map((r) => [r.status, r.fault, r.page?.chain, r.page?.page]),
      [[500, 'failAfterPages', 1, 3]],
    );
    const second = await pageWithRetry(10);
    assert.deepEqual(second.statuses, [200, 200, 500, 200, 200, 200], 'a new chain fails again');
  });

  test('failAfterPages: a client that does not retry is left mid-pagination', async () => {
    fake.segments.create('s', people(50));
    fake.faults.set({ failAfterPages: 1 });
    const page1 = await get('/segments/1/membership?limit=10');
    const page2 = await get(`/segments/1/membership?limit=10&start=${page1.body.next}`);
    assert.equal(page2.status, 500);
    assert.deepEqual(page2.body, { meta: { error: 'internal server error' } });
  });

  test('truncateAfterPages: after n pages the chain ends early with an empty last page', async () => {
    fake.segments.create('s', people(50));
    fake.faults.set({ truncateAfterPages: 2 });
    const run = await pageWithRetry(10);
    assert.deepEqual(run.statuses, [200, 200, 200]);
    assert.deepEqual([run.ended, run.ids.length], [true, 20], 'silently short: 30 members are missing');
    const last = fake.requests.at(-1);
    assert.deepEqual([last?.fault, last?.page?.page, last?.page?.returned], ['truncateAfterPages', 3, 0]);
    assert.deepEqual((await get('/segments/1/customer_count')).body, { count: 50 }, 'the count tells');
    fake.faults.clear();
    assert.equal((await pageWithRetry(10)).ids.length, 50);
  });

  test("truncateWith: 404: page n+1's start is rejected, on every chain until cleared", async () => {
    fake.segments.create('s', people(50));
    fake.faults.set({ truncateAfterPages: 1, truncateWith: 404 });
    for (let chain = 0; chain < 2; chain++) {
      const run = await pageWithRetry(10);
      assert.deepEqual([run.statuses, run.ended, run.ids.length], [[200, 404], false, 10]);
    }
    assert.equal(fake.requests.at(-1)?.fault, 'truncateAfterPages');
    assert.equal(typeof (await get('/segments/1')).body.segment, 'object');
  });

  test('latency: fixed and [min, max]', async () => {
    fake.faults.set({ latencyMs: 120 });
    let start = performance.now();
    await get('/segments');
    assert.ok(performance.now() - start >= 110);
    fake.faults.set({ latencyMs: [40, 60] });
    start = performance.now();
    await get('/segments');
    const took = performance.now() - start;
    assert.ok(took >= 35 && took < 1000, `took ${took}`);
  });

  test('resetRate: the socket is destroyed with no response', async () => {
    fake.faults.set({ resetRate: 1 });
    await assert.rejects(get('/segments'), TypeError);
    assert.deepEqual([fake.requests[0]?.status, fake.requests[0]?.fault], [null, 'reset']);
    fake.faults.clear();
    assert.equal((await get('/segments')).status, 200);
  });

  test('bad fault settings throw', () => {
    assert.throws(() => fake.faults.set({ status: { 500: 0.7, 503: 0.5 } }), /more than 1/);
    assert.throws(() => fake.faults.set({ resetRate: 2 }), /between 0 and 1/);
    assert.throws(() => fake.faults.set({ latencyMs: [50, 10] }), /latencyMs/);
    assert.throws(() => fake.faults.set({ failAfterPages: 0 }), /integer ≥ 1/);
    assert.throws(() => fake.faults.set({ truncateAfterPages: 1.5 }), /integer ≥ 1/);
    assert.throws(() => fake.faults.set({ status: { 418: 1 } as never }), /cannot be injected/);
  });

  test('close() does not wait for a delayed response', async () => {
    const slow = await startFakeCustomerIo();
    slow.faults.set({ latencyMs: 60_000 });
    const pending = fetch(`${slow.baseUrl}/segments`, { headers: { authorization: slow.authorization } });
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    await slow.close();
    await assert.rejects(pending);
    assert.ok(performance.now() - start < 1000);
  });
});

describe('inspection', () => {
  before(async () => {
    fake = await startFakeCustomerIo({ rateLimit: false });
  });
  beforeEach(() => fake.reset());
  after(() => fake.close());

  test('requests record method, path, query, headers, status, times and the page', async () => {
    fake.segments.create('s', people(3));
    const before = Date.now();
    await get('/segments/1/membership?limit=2');
    const [r] = fake.requests;
    assert.deepEqual(
      [r?.seq, r?.method, r?.path, r?.query, r?.status, r?.rateLimited],
      [1, 'GET', '/v1/segments/1/membership', { limit: '2' }, 200, false],
    );
    assert.equal(r?.headers.authorization, fake.authorization);
    assert.ok((r?.at ?? 0) >= before && (r?.respondedAt ?? 0) >= (r?.at ?? 0));
    assert.deepEqual(r?.page, { segmentId: 1, chain: 1, page: 1, returned: 2 });
  });

  test('reset() empties segments, the log and faults, and numbers chains from 1 again', async () => {
    fake.segments.create('s', people(3));
    fake.faults.set({ status: { 500: 1 } });
    await get('/segments');
    fake.reset();
    assert.deepEqual([fake.segments.list().length, fake.requests.length], [0, 0]);
    assert.deepEqual(fake.faults.get(), {});
    fake.segments.create('t', people(1));
    await get('/segments/1/membership');
    assert.equal(fake.requests[0]?.page?.chain, 1);
  });

  test('HTTP: state, faults, segments and reset under /__fake, without auth and unrecorded', async () => {
    const created = await fetch(`${fake.url}/__fake/segments`, {
      method: 'POST',
      body: JSON.stringify({ name: 'vip', members: [{ id: 'a' }, { email: 'b@x.com' }] }),
    });
    assert.equal(created.status, 200);
    const put = await fetch(`${fake.url}/__fake/segments/1/members`, {
      method: 'PUT',
      body: JSON.stringify([{ id: 'c' }]),
    });
    assert.equal(put.status, 200);
    await get('/segments/1/membership');
    const state = await fakeState(fake.url);
    assert.deepEqual(
      state.segments[0].members.map((m: { id: string }) => m.id),
      ['c'],
    );
    assert.equal(state.requests.length, 1);
    const set = await fetch(`${fake.url}/__fake/faults`, { method: 'PUT', body: '{"status":{"503":1}}' });
    assert.equal(set.status, 200);
    assert.equal((await get('/segments')).status, 503);
    const bad = await fetch(`${fake.url}/__fake/faults`, { method: 'PUT', body: '{"resetRate": 5}' });
    assert.deepEqual(
      [bad.status, ((await bad.json()) as { meta: { errors: string[] } }).meta.errors.length],
      [400, 1],
    );
    assert.equal(
      (await fetch(`${fake.url}/__fake/rate-limit`, { method: 'PUT', body: '{"perSecond":1}' })).status,
      200,
    );
    assert.equal((await fetch(`${fake.url}/__fake/reset`, { method: 'POST' })).status, 200);
    assert.deepEqual([fake.segments.list().length, fake.requests.length], [0, 0]);
  });
});

describe('CLI', () => {
  test('main.ts starts a fake with seeded segments on the given port', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/fakes/customerio/main.ts',
        '--port',
        '0',
        '--segment',
        'vip:25',
        '--last-page-next',
        'omit',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      while (!/state: curl (\S+)\/__fake\/state/.test(out)) {
        const [chunk] = (await once(child.stdout, 'data')) as [string];
        out += chunk;
      }
      assert.match(out, /segment 1 "vip": 25 members/);
      const origin = /state: curl (\S+)\/__fake\/state/.exec(out)?.[1] ?? '';
      const res = await fetch(`${origin}/v1/segments/1/membership?limit=30`, {
        headers: { authorization: 'Bearer test-cio-app-key' },
      });
      const body = (await res.json()) as { ids: string[]; next?: string };
      assert.deepEqual([res.status, body.ids.length, 'next' in body], [200, 25, false]);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
