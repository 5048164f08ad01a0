import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomerIORequestError, TrackClient } from 'customerio-node';
import type { App } from '../../src/app/app.ts';
import { openApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import { parseConfig } from '../../src/config/load.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildServer } from '../../src/server/server.ts';
import type { FastifyInstance } from 'fastify';
import { WRITE_KEYS, basic } from '../helpers/harness.ts';
import type { TestStorage } from '../helpers/store.ts';
import { storeEnv, testStorage } from '../helpers/store.ts';

// The unmodified Customer.io client (v4 speaks only https): only its url, port and CA point at Handoff.
const SITE_ID = 'site-0123';
const API_KEY = 'cio-api-key-4567';
const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const seconds = (iso: string) => Date.parse(iso) / 1000;

let dir: string;
let storage: TestStorage;
let app: App;
let server: FastifyInstance;
let cert: string;
let port: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'handoff-cio-'));
  // A throwaway certificate for 127.0.0.1, trusted by this test's clients alone (via `ca`).
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  storage = testStorage(dir);
  const config = parseConfig(
    `
${storage.yaml}
sources:
  - { id: web, writeKey: { env: WEB_KEY } }
  - { id: cio, kind: customerio, siteId: ${SITE_ID}, apiKey: { env: CIO_API_KEY } }
`,
    'test.yaml',
    { ...storeEnv(), WEB_KEY: WRITE_KEYS.web, CIO_API_KEY: API_KEY },
  );
  if (!config.ok) throw new Error(config.error.message);
  app = await openApp({ config: config.value, clock: new ManualClock(NOW) });
  server = buildServer(serverServices(app), { https: { key: readFileSync(join(dir, 'key.pem')), cert } });
  const url = new URL(await server.listen({ port: 0, host: '127.0.0.1' }));
  assert.equal(url.protocol, 'https:');
  port = Number(url.port);
});
after(async () => {
  await server.close();
  await app.stop();
  await storage.drop();
  rmSync(dir, { recursive: true, force: true });
});

const client = (siteId = SITE_ID, apiKey = API_KEY) =>
  new TrackClient(siteId, apiKey, { url: `https://127.0.0.1:${port}/api/v1`, port, ca: cert });

const stored = async () => (await app.store.events.readAfter(0, 10_000)).filter((e) => e.sourceId === 'cio');

/** The client's rejection, which must be Customer.io's error type. */
async function failure(call: Promise<unknown>): Promise<CustomerIORequestError> {
  try {
    await call;
  } catch (error) {
    assert.ok(error instanceof CustomerIORequestError, String(error));
    return error;
  }
  assert.fail('the call succeeded');
}

describe('the unmodified customerio-node v4 TrackClient over HTTPS', () => {
  test('identify, track, page view, anonymous event and destroy are stored as sent', async () => {
    const cio = client();
    assert.deepEqual(
      await cio.identify('u-1', {
        email: 'Ann.Lee@Example.com',
        created_at: seconds('2026-01-02T03:04:05.000Z'),
        unsubscribed: 'TRUE',
        plan: 'pro',
        anonymous_id: 'anon-9',
        _timestamp: seconds('2026-11-29T11:00:00.000Z'),
      }),
      {},
    );
    await cio.track('u-1', {
      name: 'purchase',
      id: '01JDQ6ZB3W5R2F9K8XG7T4M1AA',
      timestamp: seconds('2026-11-29T11:30:00.000Z'),
      data: { price: 23.45, product: 'socks' },
    });
    await cio.trackPageView('u-1', 'https://shop.example/cart');
    await cio.trackAnonymous('anon-9', { name: 'watched_video', data: { video: 'intro' } });
    await cio.identify('Bob@Example.com', { plan: 'free' });
    await cio.destroy('u-1');

    const events = await stored();
    assert.deepEqual(
      events.map((e) => [e.type, e.userId, e.anonymousId, e.name, new Date(e.timestamp).toISOString()]),
      [
        ['identify', 'u-1', 'anon-9', null, '2026-11-29T11:00:00.000Z'],
        ['track', 'u-1', null, 'purchase', '2026-11-29T11:30:00.000Z'],
        ['page', 'u-1', null, 'https://shop.example/cart', '2026-11-29T12:00:00.000Z'],
        ['track', null, 'anon-9', 'watched_video', '2026-11-29T12:00:00.000Z'],
        ['identify', null, null, null, '2026-11-29T12:00:00.000Z'],
        ['track', 'u-1', null, 'User Deleted', '2026-11-29T12:00:00.000Z'],
      ],
    );
    const [identify, purchase, , anonymous, byEmail, deletion] = events;
    assert.deepEqual(identify?.message.traits, {
      email: 'Ann.Lee@Example.com',
      created_at: seconds('2026-01-02T03:04:05.000Z'),
      unsubscribed: true,
      plan: 'pro',
    });
    assert.equal(purchase?.messageId, '01JDQ6ZB3W5R2F9K8XG7T4M1AA', 'the event id is the dedupe key');
    assert.deepEqual(purchase?.message.properties, { price: 23.45, product: 'socks' });
    assert.deepEqual(anonymous?.message.properties, { video: 'intro' });
    assert.deepEqual(byEmail?.message.traits, { plan: 'free', email: 'Bob@Example.com' });
    assert.match(deletion?.messageId ?? '', /^cio-/, 'calls without an id get a fresh message id');
    assert.ok(events.every((e) => e.receivedAt === NOW));
  });

  test('a repeated event id is acknowledged and stored once; calls without an id are never merged', async () => {
    const cio = client();
    const event = { name: 'signup', id: '01JDQ7A0000000000000000000', data: { plan: 'pro' } };
    assert.deepEqual(await cio.track('u-2', event), {});
    assert.deepEqual(await cio.track('u-2', event), {});
    await cio.track('u-2', { name: 'ping' });
    await cio.track('u-2', { name: 'ping' });
    const events = (await stored()).filter((e) => e.userId === 'u-2');
    assert.deepEqual(
      events.map((e) => e.name),
      ['signup', 'ping', 'ping'],
    );
  });

  test('a wrong API key or site id is a 401 the client reports', async () => {
    for (const cio of [
      client(SITE_ID, 'wrong-key'),
      client('other-site', API_KEY),
      client(WRITE_KEYS.web, ''),
    ]) {
      const error = await failure(cio.track('u-3', { name: 'nope' }));
      assert.equal(error.statusCode, 401);
      assert.equal(error.message, 'unknown site id or API key');
    }
    assert.equal((await stored()).filter((e) => e.userId === 'u-3').length, 0);
  });

  test('bad input is a 400 whose reason the client reports', async () => {
    const cio = client();
    const cases: [Promise<unknown>, RegExp][] = [
      [
        cio.track('u-4', { name: 'x', timestamp: 'yesterday' }),
        /timestamp must be a unix timestamp in seconds/,
      ],
      [cio.track('u-4', { name: 'x', timestamp: NOW }), /looks like milliseconds/],
      [
        cio.track('u-4', { name: 'x', timestamp: seconds('2026-12-05T00:00:00.000Z') }),
        /ahead of the server's clock/,
      ],
      [cio.track('u-4', { name: 'x', type: 'click' }), /type must be event, page or screen/],
      [cio.identify('cio_03000001', { plan: 'pro' }), /cio_id/],
      [cio.identify('u-4', { id: 'u-5' }), /differs from "u-4" in the path/],
      [cio.trackAnonymous('', { name: 'x' }), /anonymous events need an anonymous_id/],
    ];
    for (const [call, reason] of cases) {
      const error = await failure(call);
      assert.equal(error.statusCode, 400);
      assert.match(error.message, /^1 error:/);
      assert.match(error.message, reason);
    }
    assert.equal((await stored()).filter((e) => e.userId === 'u-4').length, 0);
  });
});

describe('the Track API routes, in process', () => {
  const call = (method: 'PUT' | 'POST' | 'DELETE', url: string, payload?: string, auth = true) =>
    server.inject({
      method,
      url,
      headers: {
        'content-type': 'application/json',
        ...(auth
          ? { authorization: `Basic ${Buffer.from(`${SITE_ID}:${API_KEY}`).toString('base64')}` }
          : {}),
      },
      ...(payload === undefined ? {} : { payload }),
    });

  test('no credentials: 401 with Customer.io’s error shape, before the body is read', async () => {
    const res = await call('POST', '/api/v1/customers/u/events', '{"name": ', false);
    assert.equal(res.statusCode, 401);
    assert.match(res.json().meta.error, /missing credentials: send HTTP Basic auth/);
  });
  test('the Segment write key does not open the Track API, nor Track credentials the Segment API', async () => {
    const viaTrack = await server.inject({
      method: 'POST',
      url: '/api/v1/customers/u/events',
      headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEYS.web) },
      payload: '{"name":"x"}',
    });
    assert.equal(viaTrack.statusCode, 401);
    const viaSegment = await server.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { 'content-type': 'application/json', authorization: basic(SITE_ID) },
      payload: '{"userId":"u","event":"x"}',
    });
    assert.equal(viaSegment.statusCode, 401);
    assert.equal(viaSegment.json().error.code, 'unauthorized', 'Segment routes keep their own error shape');
    assert.equal(app.sourceForSiteKey(SITE_ID, API_KEY), 'cio');
    assert.equal(app.sourceForKey(API_KEY), undefined);
  });

  const bad: [string, 'PUT' | 'POST', string, string, RegExp][] = [
    ['malformed JSON', 'POST', '/api/v1/customers/u/events', '{"name": ', /not valid JSON/],
    ['an empty body', 'POST', '/api/v1/customers/u/events', '', /JSON object/],
    ['a JSON array', 'PUT', '/api/v1/customers/u', '[1]', /JSON object of attributes/],
  ];
  for (const [what, method, url, payload, reason] of bad) {
    test(`${what}: 400 with {"meta":{"errors":[reason]}}`, async () => {
      const res = await call(method, url, payload);
      assert.equal(res.statusCode, 400, res.body);
      const body = res.json();
      assert.equal(body.meta.errors.length, 1);
      assert.match(body.meta.errors[0], reason);
    });
  }

  test('a call over 32 KB is a 413 naming the limit', async () => {
    const res = await call('PUT', '/api/v1/customers/u', JSON.stringify({ pad: 'x'.repeat(33 * 1024) }));
    assert.equal(res.statusCode, 413, res.body);
    assert.match(res.json().meta.errors[0], /32 KB per call/);
  });

  test('a call just under 32 KB whose message exceeds 32 KB is rejected by the shared limit', async () => {
    const res = await call('PUT', '/api/v1/customers/u', JSON.stringify({ pad: 'x'.repeat(32 * 1024 - 20) }));
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json().meta.errors[0], /the limit is 32 KB per message/);
  });
  test('a long email identifier fits in the path', async () => {
    const email = `${'a'.repeat(200)}@example.com`;
    const res = await call('PUT', `/api/v1/customers/${encodeURIComponent(email)}`, '{}');
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(
      (await stored()).some((e) => (e.message as { traits?: { email?: string } }).traits?.email === email),
    );
  });
  test('an endpoint Handoff does not take is a 404 in Customer.io’s shape', async () => {
    const res = await call('POST', '/api/v1/customers/u/suppress', '{}');
    assert.equal(res.statusCode, 404);
    assert.match(res.json().meta.error, /no route POST \/api\/v1\/customers\/u\/suppress/);
  });
});

describe('a person addressed by id and by email stays one profile', () => {
  test('identify by id with an email, then an event and a delete by email, reach the same profile', async () => {
    const auth = `Basic ${Buffer.from(`${SITE_ID}:${API_KEY}`).toString('base64')}`;
    const call = (method: 'PUT' | 'POST' | 'DELETE', url: string, body?: unknown) =>
      server.inject({
        method,
        url,
        headers: { authorization: auth, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    assert.equal((await call('PUT', '/api/v1/customers/u-7', { email: 'Dana@Example.com' })).statusCode, 200);
    const byEmail = `/api/v1/customers/${encodeURIComponent('dana@example.com')}`;
    assert.equal((await call('POST', `${byEmail}/events`, { name: 'Order Completed' })).statusCode, 200);
    await app.settle();
    const profile = await app.store.identity.findProfile({ kind: 'userId', value: 'u-7' });
    assert.ok(profile);
    assert.equal(
      (await app.store.identity.findProfile({ kind: 'email', value: 'dana@example.com' }))?.id,
      profile.id,
    );
    assert.equal(
      (await app.store.audiences.history([profile.id])).length,
      2,
      'both calls are on one profile',
    );
    assert.equal((await call('DELETE', byEmail)).statusCode, 200);
    await app.settle();
    assert.equal(
      await app.store.identity.findProfile({ kind: 'userId', value: 'u-7' }),
      undefined,
      'deleted by email',
    );
  });
});
