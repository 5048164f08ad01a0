// The fake's disturbances and inspection: rate limiting, injected faults, the request log.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { FakeCordial } from './index.ts';
import { startFakeCordial } from './index.ts';
import { cordialClient, fakeState } from './test-client.ts';
import { burstAtOnce } from '../burst.ts';

const T0 = Date.parse('2026-11-29T12:00:00Z');
let t = T0;
let fake: FakeCordial;
const call = cordialClient(() => fake);
const jane = { channels: { email: { address: 'jane@x.com' } } };

describe('rate limit (on a manual clock)', () => {
  beforeEach(async () => {
    t = T0;
    fake = await startFakeCordial({ rateLimit: { perSecond: 3 }, now: () => t });
  });
  afterEach(() => fake.close());

  test('every response carries the rate headers; the request over the budget is a 429', async () => {
    for (const remaining of ['2', '1', '0']) {
      const res = await call('GET', '/accountlists');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-rate-limit-limit'), '3');
      assert.equal(res.headers.get('x-rate-limit-remaining'), remaining);
      assert.match(res.headers.get('x-rate-limit-reset') ?? '', /^[01]$/);
      assert.equal(res.headers.get('retry-after'), null);
    }
    const limited = await call('POST', '/contacts', jane);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    assert.equal(limited.headers.get('x-rate-limit-limit'), '3');
    assert.equal(limited.headers.get('x-rate-limit-remaining'), '0');
    assert.equal(limited.headers.get('x-rate-limit-reset'), '1');
    assert.deepEqual(limited.body, {
      error: true,
      errorKey: 'RATE_LIMIT_EXCEEDED',
      message: 'Rate limit exceeded; retry after the number of seconds in Retry-After',
    });
    assert.equal(fake.contacts().length, 0, 'a refused request changes nothing');
  });

  test('the budget refills at perSecond per second; a refused request takes no token', async () => {
    for (let i = 0; i < 3; i++) await call('GET', '/accountlists');
    for (let i = 0; i < 5; i++) assert.equal((await call('GET', '/accountlists')).status, 429);
    t += 334; // one token's worth
    assert.equal((await call('GET', '/accountlists')).status, 200);
    assert.equal((await call('GET', '/accountlists')).status, 429);
    t += 1000;
    for (let i = 0; i < 3; i++) assert.equal((await call('GET', '/accountlists')).status, 200);
  });

  test('the log marks 429s and finds requests sent inside the Retry-After wait', async () => {
    for (let i = 0; i < 4; i++) await call('GET', '/accountlists');
    const limited = fake.requests.at(-1);
    assert.equal(limited?.rateLimited, true);
    assert.equal(limited?.retryAfterSeconds, 1);
    assert.equal(limited?.retryAt, T0 + 1000);
    assert.deepEqual(fake.requestsInsideRetryAfter(), []);
    t += 999;
    await call('GET', '/accountlists'); // too early: 1 ms before the Retry-After instant
    t += 1;
    await call('GET', '/accountlists'); // on time
    assert.deepEqual(
      fake.requestsInsideRetryAfter().map((r) => r.seq),
      [5],
    );
    assert.equal(fake.requests.filter((r) => r.rateLimited).length, 1, 'the early request found a token');
  });

  test('perMinute: the tighter budget binds, and Retry-After counts whole seconds to its next token', async () => {
    fake.setRateLimit({ perSecond: 10, perMinute: 12 });
    for (let i = 0; i < 10; i++) assert.equal((await call('GET', '/accountlists')).status, 200);
    t += 1000;
    assert.equal((await call('GET', '/accountlists')).status, 200);
    const last = await call('GET', '/accountlists');
    assert.equal(last.status, 200);
    assert.equal(last.headers.get('x-rate-limit-limit'), '12');
    assert.equal(last.headers.get('x-rate-limit-remaining'), '0');
    const limited = await call('GET', '/accountlists');
    assert.equal(limited.status, 429);
    // 12/min is one token per 5 s; the second that passed already refilled a fifth of one.
    assert.equal(limited.headers.get('retry-after'), '4');
    assert.equal(limited.headers.get('x-rate-limit-reset'), '59');
  });

  test('a 401 is not rate limited and spends nothing; setRateLimit(undefined) lifts the limit', async () => {
    for (let i = 0; i < 5; i++)
      assert.equal((await call('GET', '/accountlists', undefined, { auth: null })).status, 401);
    assert.equal((await call('GET', '/accountlists')).headers.get('x-rate-limit-remaining'), '2');
    fake.setRateLimit(undefined);
    for (let i = 0; i < 10; i++) {
      const res = await call('GET', '/accountlists');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-rate-limit-limit'), null);
    }
  });
});

describe('rate limit on the real clock', () => {
  test('a burst is cut at perSecond, and waiting Retry-After is enough', async () => {
    fake = await startFakeCordial({ rateLimit: { perSecond: 5 } });
    try {
      const burst = await burstAtOnce(fake, 200, () =>
        Promise.all(Array.from({ length: 8 }, () => call('GET', '/accountlists'))),
      );
      const limited = burst.filter((r) => r.status === 429);
      assert.equal(limited.length, 3);
      const seconds = Number(limited[0]?.headers.get('retry-after'));
      assert.ok(Number.isInteger(seconds) && seconds >= 1);
      await new Promise((r) => setTimeout(r, seconds * 1000));
      assert.equal((await call('GET', '/accountlists')).status, 200);
      // The burst's own requests were in flight when the first 429 left.
      assert.deepEqual(fake.requestsInsideRetryAfter({ graceMs: 200 }), []);
    } finally {
      await fake.close();
    }
  });
});

describe('fault injection', () => {
  before(async () => {
    fake = await startFakeCordial();
  });
  beforeEach(() => fake.reset());
  after(() => fake.close());

  test('status rate 1: every request gets that status and an envelope; state is untouched', async () => {
    for (const status of [500, 502, 503, 422] as const) {
      fake.faults.set({ status: { [status]: 1 } });
      const res = await call('POST', '/contacts', jane);
      assert.equal(res.status, status);
      assert.deepEqual(res.body, {
        error: true,
        errorKey: 'GENERIC_ERROR_KEY',
        message: `injected ${status} error`,
      });
    }
    assert.equal(fake.contacts().length, 0);
    assert.deepEqual(
      fake.requests.map((r) => [r.status, r.fault]),
      [500, 502, 503, 422].map((s) => [s, 'status']),
    );
  });

  test('an injected 429 looks like a real one: Retry-After and the rate headers', async () => {
    fake.faults.set({ status: { 429: 1 } });
    const res = await call('GET', '/accountlists');
    assert.equal(res.status, 429);
    assert.equal(res.body.errorKey, 'RATE_LIMIT_EXCEEDED');
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal(res.headers.get('x-rate-limit-remaining'), '0');
    assert.equal(fake.requests[0]?.rateLimited, true);
    assert.equal(fake.requests[0]?.retryAfterSeconds, 1);
  });

  test('rates are seeded: the same seed gives the same sequence, near the set rate', async () => {
    const run = async (seed: number) => {
      fake.reset();
      fake.faults.set({ status: { 500: 0.3, 503: 0.2 }, seed });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) statuses.push((await call('GET', '/accountlists')).status);
      return statuses;
    };
    const first = await run(7);
    assert.deepEqual(await run(7), first);
    assert.notDeepEqual(await run(8), first);
    const count = (s: number) => first.filter((x) => x === s).length;
    assert.ok(count(500) > 35 && count(500) < 85, `500s: ${count(500)}`);
    assert.ok(count(503) > 20 && count(503) < 60, `503s: ${count(503)}`);
    assert.equal(count(200), 200 - count(500) - count(503));
  });

  test('failNext answers the next requests in order, then the fake is healthy again', async () => {
    fake.faults.set({
      failNext: [
        { status: 502 },
        { status: 429, headers: { 'Retry-After': '2' } },
        { status: 500, body: { error: true, errorKey: 'X', message: 'custom' }, headers: { 'X-Debug': '1' } },
      ],
    });
    const a = await call('GET', '/accountlists');
    const b = await call('GET', '/accountlists');
    const c = await call('GET', '/accountlists');
    const d = await call('GET', '/accountlists');
    assert.deepEqual([a.status, b.status, c.status, d.status], [502, 429, 500, 200]);
    assert.equal(b.headers.get('retry-after'), '2');
    assert.deepEqual(c.body, { error: true, errorKey: 'X', message: 'custom' });
    assert.equal(c.headers.get('x-debug'), '1');
    assert.equal(fake.requests[1]?.retryAfterSeconds, 2);
    assert.equal(fake.requests[0]?.fault, 'failNext');
    assert.deepEqual(fake.faults.get().failNext, []);
  });

  test('failNext applies before auth, like a proxy in front of Cordial', async () => {
    fake.faults.set({ failNext: [{ status: 503 }] });
    assert.equal((await call('GET', '/accountlists', undefined, { auth: null })).status, 503);
  });

  test('latency: fixed and [min, max]', async () => {
    fake.faults.set({ latencyMs: 120 });
    let start = performance.now();
    await call('GET', '/accountlists');
    assert.ok(performance.now() - start >= 110);
    fake.faults.set({ latencyMs: [40, 60] });
    start = performance.now();
    await call('GET', '/accountlists');
    const took = performance.now() - start;
    assert.ok(took >= 35 && took < 1000, `took ${took}`);
  });

  test('resetRate: the socket is destroyed with no response, and nothing is applied', async () => {
    fake.faults.set({ resetRate: 1 });
    await assert.rejects(call('POST', '/contacts', jane), TypeError);
    assert.equal(fake.contacts().length, 0);
    assert.deepEqual([fake.requests[0]?.status, fake.requests[0]?.fault], [null, 'reset']);
    fake.faults.clear();
    assert.equal((await call('POST', '/contacts', jane)).status, 201);
  });

  test('resetAfterApplyRate: the write lands but the reply is lost', async () => {
    fake.faults.set({ resetAfterApplyRate: 1 });
    await assert.rejects(call('POST', '/contacts', jane), TypeError);
    assert.equal(fake.contacts().length, 1);
    assert.equal(fake.requests[0]?.fault, 'reset-after-apply');
    fake.faults.clear();
    const retry = await call('POST', '/contacts', jane);
    assert.deepEqual([retry.status, retry.body.message], [200, 'contact updated']);
  });

  test('bad fault settings throw', () => {
    assert.throws(() => fake.faults.set({ status: { 500: 0.7, 503: 0.5 } }), /more than 1/);
    assert.throws(() => fake.faults.set({ resetRate: 2 }), /between 0 and 1/);
    assert.throws(() => fake.faults.set({ latencyMs: [50, 10] }), /latencyMs/);
  });

  test('close() does not wait for a delayed response', async () => {
    const slow = await startFakeCordial();
    slow.faults.set({ latencyMs: 60_000 });
    const pending = fetch(`${slow.baseUrl}/accountlists`, { headers: { authorization: slow.authorization } });
    await new Promise((r) => setTimeout(r, 50));
    const start = performance.now();
    await slow.close();
    await assert.rejects(pending);
    assert.ok(performance.now() - start < 1000);
  });
});

describe('inspection', () => {
  before(async () => {
    fake = await startFakeCordial({ contactAttributes: ['first_name'] });
  });
  beforeEach(() => fake.reset());
  after(() => fake.close());

  test('requests record method, encoded path, query, body, status, arrival time and headers', async () => {
    const before = Date.now();
    await call('POST', '/contacts', { ...jane, first_name: 'Jane' });
    await call('GET', '/contacts/email:jane%40x.com');
    await call('GET', '/accountlists?name=vip');
    const [post, get, lists] = fake.requests;
    assert.deepEqual([post?.seq, post?.method, post?.path, post?.status], [1, 'POST', '/v2/contacts', 201]);
    assert.deepEqual(post?.body, { ...jane, first_name: 'Jane' });
    assert.equal(post?.headers['content-type'], 'application/json');
    assert.equal(post?.headers.authorization, fake.authorization);
    assert.ok((post?.at ?? 0) >= before && (post?.respondedAt ?? 0) >= (post?.at ?? 0));
    assert.deepEqual(
      [get?.path, get?.body, get?.rateLimited],
      ['/v2/contacts/email:jane%40x.com', undefined, false],
    );
    assert.deepEqual([lists?.path, lists?.query, lists?.status], ['/v2/accountlists', 'name=vip', 404]);
  });

  test('contact(key), contacts(), lists(), listMembers and seeding', () => {
    fake.seedList('vip', { enhanced: true });
    const cID = fake.seedContact({ ...jane, custID: '42', vip: true });
    assert.equal(fake.contact(cID)?.cID, cID);
    assert.equal(fake.contact('email:jane@x.com')?.cID, cID);
    assert.equal(fake.contact('jane@x.com')?.cID, cID);
    assert.equal(fake.contact('custID:42')?.cID, cID);
    assert.equal(fake.contact('email:nobody@x.com'), undefined);
    assert.equal(fake.contacts().length, 1);
    assert.deepEqual(fake.lists(), [{ id: 1, name: 'vip', enhanced: true, count: 1 }]);
    assert.deepEqual(fake.listMembers('vip'), ['jane@x.com']);
    assert.throws(() => fake.listMembers('nope'), /no list named "nope"/);
    assert.throws(() => fake.seedList('bad name'), /letters, numbers, and dashes/);
    assert.throws(() => fake.seedContact({ first_name: 'x' }), /Must include email/);
    assert.equal(fake.requests.length, 0, 'seeding is not HTTP traffic');
  });

  test('reset() empties contacts, lists, the log and faults', async () => {
    fake.seedList('vip');
    fake.seedContact(jane);
    fake.faults.set({ failNext: [{ status: 500 }] });
    await call('GET', '/accountlists');
    fake.reset();
    assert.deepEqual([fake.contacts().length, fake.lists().length, fake.requests.length], [0, 0, 0]);
    assert.equal((await call('GET', '/accountlists')).status, 200);
  });

  test('HTTP: /__fake/state, /__fake/faults and /__fake/reset, without auth and unrecorded', async () => {
    fake.seedList('vip');
    fake.seedContact({ ...jane, vip: true });
    await call('GET', '/accountlists');
    const state = await fakeState(fake.url);
    assert.equal(state.contacts[0].channels.email.address, 'jane@x.com');
    assert.deepEqual(state.lists, [{ id: 1, name: 'vip', enhanced: false, count: 1 }]);
    assert.equal(state.requests.length, 1);

    const set = await fetch(`${fake.url}/__fake/faults`, {
      method: 'PUT',
      body: JSON.stringify({ failNext: [{ status: 503 }] }),
    });
    assert.equal(set.status, 200);
    assert.equal((await call('GET', '/accountlists')).status, 503);
    const bad = await fetch(`${fake.url}/__fake/faults`, { method: 'PUT', body: '{"resetRate": 5}' });
    assert.equal(bad.status, 400);

    assert.equal((await fetch(`${fake.url}/__fake/reset`, { method: 'POST' })).status, 200);
    assert.equal(fake.contacts().length, 0);
    assert.equal(fake.requests.length, 0);
  });
});

describe('CLI', () => {
  test('main.ts starts a fake on the given port with a rate limit and seeded lists', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/fakes/cordial/main.ts', '--port', '0', '--rate', '50', '--list', 'vip'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      while (!/\n.*state: curl (\S+)\/__fake\/state/.test(out)) {
        const [chunk] = (await once(child.stdout, 'data')) as [string];
        out += chunk;
      }
      const origin = /state: curl (\S+)\/__fake\/state/.exec(out)?.[1] ?? '';
      const state = await fakeState(origin);
      assert.deepEqual(state.lists, [{ id: 1, name: 'vip', enhanced: true, count: 0 }]);
      const res = await fetch(`${origin}/v2/accountlists`, {
        headers: { authorization: `Basic ${Buffer.from('test-cordial-key:').toString('base64')}` },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-rate-limit-limit'), '50');
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
