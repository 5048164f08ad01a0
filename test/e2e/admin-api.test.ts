import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { adminSurface } from '../../src/admin/index.ts';
import { serverServices } from '../../src/app/services.ts';
import { OPENAPI_PATH } from '../../src/admin/openapi.ts';
import * as schemas from '../../src/admin/schemas.ts';
import type { DemoServer } from '../helpers/demo-server.ts';
import { ADMIN_TOKEN, demoServer } from '../helpers/demo-server.ts';
import { harness } from '../helpers/harness.ts';

let demo: DemoServer;
before(async () => {
  demo = await demoServer();
});
after(() => demo.close());

const call = async (path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) => {
  const token = init.token === undefined ? ADMIN_TOKEN : init.token;
  const res = await fetch(`${demo.url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
};

describe('admin API: the token', () => {
  test('every admin route refuses a request without the token, or with a wrong one, with 401 and a reason', async () => {
    for (const [method, path] of [
      ['GET', '/api/admin/audiences'],
      ['GET', '/api/admin/audiences/cart_0_2m'],
      ['GET', '/api/admin/profiles/user-1'],
      ['GET', '/api/admin/sync'],
      ['GET', '/api/admin/cluster'],
      ['POST', '/api/admin/sync/retry'],
    ] as const) {
      const missing = await call(path, {
        method,
        token: null,
        ...(method === 'POST' ? { body: { all: true } } : {}),
      });
      assert.equal(missing.status, 401, `${method} ${path}`);
      assert.match(missing.body.error.message, /Authorization: Bearer/);
      const wrong = await call(path, { method, token: 'not-the-token' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.message, 'wrong admin token');
    }
    const basic = await fetch(`${demo.url}/api/admin/sync`, {
      headers: { authorization: `Basic ${ADMIN_TOKEN}` },
    });
    assert.equal(basic.status, 401);
  });

  test('with no admin token configured, the admin API says so instead of serving data', async () => {
    const h = await harness();
    try {
      const url = await h.listen();
      const res = await fetch(`${url}/api/admin/audiences`, {
        headers: { authorization: 'Bearer anything' },
      });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'admin_disabled');
      assert.match(body.error.message, /server\.adminToken/);
    } finally {
      await h.close();
    }
  });
});

describe('admin API: the OpenAPI document', () => {
  test('documents every admin route, and only those', async () => {
    const server = Fastify();
    const registered: string[] = [];
    server.addHook('onRoute', (r) => {
      const methods = Array.isArray(r.method) ? r.method : [r.method];
      for (const m of methods)
        if (m !== 'HEAD' && r.url.startsWith('/api/admin')) registered.push(`${m} ${r.url}`);
    });
    adminSurface(server, serverServices(demo.h.app));
    await server.ready();
    const res = await fetch(`${demo.url}${OPENAPI_PATH}`);
    assert.equal(res.status, 200, 'the document needs no token');
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
    );
    assert.deepEqual([...documented].sort(), [...registered].sort());
    for (const route of documented) {
      const [method, url] = route.split(' ') as ['GET' | 'POST', string];
      assert.ok(demo.h.server.hasRoute({ method, url }), `${route} is served`);
    }
    await server.close();
  });

  test('references inside the document resolve', async () => {
    const doc = (await (await fetch(`${demo.url}${OPENAPI_PATH}`)).json()) as {
      components: { schemas: Record<string, unknown> };
    };
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    assert.ok(refs.length > 0, 'the explanation tree is recursive, so it is referenced');
    for (const ref of refs) {
      const target = ref.slice(8, -1);
      assert.match(target, /^#\/components\/schemas\//);
      assert.ok(doc.components.schemas[target.split('/').at(-1)!], `${target} exists`);
    }
  });
});

describe('admin API: views of demo data', () => {
  test('audiences: sizes and held-out counts match the store; the series ends at the size now', async () => {
    const { status, body } = await call('/api/admin/audiences?range=15m');
    assert.equal(status, 200);
    const parsed = schemas.audiencesResponse.parse(body);
    assert.equal(parsed.audiences.length, demo.h.app.config.audiences.length);
    let nonEmpty = 0;
    for (const a of parsed.audiences) {
      const members = await demo.h.app.store.audiences.members(a.key);
      assert.equal(a.size, members.length, a.key);
      assert.equal(a.heldOut, members.filter((m) => m.heldOut).length, a.key);
      assert.equal(a.series.at(-1)?.size, a.size);
      assert.ok(a.series.every((p) => p.size >= 0));
      if (a.size > 0) nonEmpty++;
    }
    assert.ok(nonEmpty >= 4, `demo traffic fills most audiences (${nonEmpty} have members)`);
    const cart = parsed.audiences.find((a) => a.key === 'cart_0_2m')!;
    assert.equal(cart.syncs, true);
    assert.equal(cart.list, 'demo-cart-0-2m');
    assert.ok(cart.lastSyncAt !== null);
  });

  test('one audience: enters minus exits over the range is the change in size', async () => {
    const { status, body } = await call('/api/admin/audiences/purchased_5m?range=1h');
    assert.equal(status, 200);
    const a = schemas.audienceResponse.parse(body);
    const entered = a.changes.reduce((n, c) => n + c.enters, 0);
    const exited = a.changes.reduce((n, c) => n + c.exits, 0);
    assert.ok(entered > 0 && exited > 0, 'purchasers entered and, after 5 minutes, left');
    assert.equal(a.audience.series[0]!.size + entered - exited, a.audience.size);
    assert.equal(a.holdout.treated + a.holdout.heldOut, a.audience.size);
    assert.equal(a.members.length, Math.min(20, a.audience.size));
    assert.ok(a.latencyMs.samples > 0 && a.latencyMs.p50 !== null);
    const members = new Set(
      (await demo.h.app.store.audiences.members('purchased_5m')).map((m) => m.profileId),
    );
    assert.ok(a.members.every((m) => members.has(m.profileId)));
  });

  test('a profile by email, userId and id: identifiers, events and the reasons for each audience', async () => {
    const [member] = await demo.h.app.store.audiences.members('purchased_5m');
    const profile = (await demo.h.app.store.identity.getProfile(member!.profileId))!;
    const email = profile.identifiers.find((i) => i.kind === 'email')!.value;
    const userId = profile.identifiers.find((i) => i.kind === 'userId')!.value;
    for (const ref of [`email:${email.toUpperCase()}`, userId, `profile:${profile.id}`]) {
      const { status, body } = await call(`/api/admin/profiles/${encodeURIComponent(ref)}`);
      assert.equal(status, 200, ref);
      const p = schemas.profileResponse.parse(body);
      assert.equal(p.profile.id, profile.id);
      assert.ok(p.events.some((e) => e.name === 'Order Completed'));
      const purchased = p.memberships.find((m) => m.audience === 'purchased_5m')!;
      assert.equal(purchased.member, true);
      assert.match(JSON.stringify(purchased.explanation), /Order Completed/);
      assert.ok(p.changes.some((c) => c.audience === 'purchased_5m' && c.change === 'enter'));
    }
  });

  test('sync: the queue matches the store, the 429 and the dead letter are shown', async () => {
    const { status, body } = await call('/api/admin/sync');
    assert.equal(status, 200);
    const s = schemas.syncResponse.parse(body);
    assert.equal(s.configured, true);
    assert.deepEqual(s.queue, await demo.h.app.store.sync.counts('cordial'));
    assert.ok(s.rateLimited >= 1);
    assert.ok(s.sends.reduce((n, b) => n + b.ok, 0) > 0);
    assert.equal(s.deadLetters.length, (await demo.h.app.store.sync.deadLetters('cordial')).length);
    assert.ok(s.deadLetters.some((d) => d.status === 422));
  });
});

describe('admin API: bad input', () => {
  test('unknown audience or profile: 404 naming it', async () => {
    const audience = await call('/api/admin/audiences/no_such_audience');
    assert.equal(audience.status, 404);
    assert.match(audience.body.error.message, /no audience with key no_such_audience; known: cart_0_2m/);
    const profile = await call(`/api/admin/profiles/${encodeURIComponent('email:nobody@example.com')}`);
    assert.equal(profile.status, 404);
    assert.match(profile.body.error.message, /no profile is known by email:nobody@example.com/);
    const retry = await call('/api/admin/sync/retry', { method: 'POST', body: { audience: 'high_aov' } });
    assert.equal(retry.status, 404);
    assert.match(retry.body.error.message, /no audience high_aov syncs to Cordial/);
  });

  test('malformed parameters and bodies: 400 naming the field', async () => {
    const cases: [string, { method?: string; body?: unknown }, RegExp][] = [
      ['/api/admin/audiences?range=3y', {}, /^query\.range: /],
      ['/api/admin/audiences?range=1h&color=red', {}, /^query: .*color/],
      ['/api/admin/audiences/cart_0_2m?range=', {}, /^query\.range/],
      [`/api/admin/profiles/${encodeURIComponent('email:not an email')}`, {}, /email not an email/],
      ['/api/admin/sync/retry', { method: 'POST', body: {} }, /send either \{"all": true\} or \{"audience"/],
      ['/api/admin/sync/retry', { method: 'POST', body: { all: false } }, /^body\.all: /],
      [
        '/api/admin/sync/retry',
        { method: 'POST', body: { all: true, audience: 'cart_0_2m' } },
        /send either/,
      ],
      ['/api/admin/sync/retry', { method: 'POST', body: [1, 2] }, /^body: /],
      ['/api/admin/sync/retry', { method: 'POST' }, /^body: /],
    ];
    for (const [path, init, message] of cases) {
      const { status, body } = await call(path, init);
      assert.equal(status, 400, `${path} ${JSON.stringify(init.body)}`);
      assert.match(body.error.message, message, `${path} ${JSON.stringify(init.body)}`);
    }
    const broken = await fetch(`${demo.url}/api/admin/sync/retry`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{"all": tru',
    });
    assert.equal(broken.status, 400);
  });
});

describe('admin API: cluster', () => {
  test('GET /cluster lists the job leases: holder, epoch, expiry, and whether each lapsed', async () => {
    const store = demo.h.app.store;
    const { epoch } = (await store.leases.acquire('sync:cordial', 'host-b:4242:abc123', 60_000))!;
    const { status, body } = await call('/api/admin/cluster');
    assert.equal(status, 200);
    const cluster = schemas.clusterResponse.parse(body);
    const lease = cluster.leases.find((l) => l.name === 'sync:cordial');
    assert.deepEqual(
      lease && { holder: lease.holder, epoch: lease.epoch, expired: lease.expired },
      { holder: 'host-b:4242:abc123', epoch, expired: false },
    );
    assert.ok(lease!.expiresAt > cluster.now, 'it expires after now');
    await store.leases.release('sync:cordial', 'host-b:4242:abc123', epoch);
    const released = schemas.clusterResponse.parse((await call('/api/admin/cluster')).body);
    assert.equal(released.leases.find((l) => l.name === 'sync:cordial')?.expired, true);
  });
});

describe('admin API: retry', () => {
  test('POST /sync/retry queues the dead letters again, and they are sent', async () => {
    const dead = await demo.h.app.store.sync.deadLetters('cordial');
    assert.ok(dead.length > 0);
    const { status, body } = await call('/api/admin/sync/retry', { method: 'POST', body: { all: true } });
    assert.equal(status, 200);
    assert.deepEqual(body, { queued: dead.length });
    assert.equal((await demo.h.app.store.sync.deadLetters('cordial')).length, 0);
    await demo.h.app.settle();
    const sync = schemas.syncResponse.parse((await call('/api/admin/sync')).body);
    assert.equal(sync.deadLetters.length, 0);
    const contact = dead[0]!.contact.replace(/^email:/, '');
    assert.ok(
      demo.fake.contacts().some((c) => JSON.stringify(c).includes(contact)),
      'the contact reached Cordial',
    );
  });
});

describe('the dashboard shell', () => {
  test('loads without the token, holds no data, and its bundle is small', async () => {
    const page = await fetch(`${demo.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /<script type="module" src="\/assets\/dashboard.js">/);
    assert.doesNotMatch(html, /cart_0_2m/);
    const js = await fetch(`${demo.url}/assets/dashboard.js`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const css = await fetch(`${demo.url}/assets/dashboard.css`);
    assert.match(await css.text(), /\.uplot/);
    const gzipped = gzipSync(Buffer.from(await js.text())).length;
    assert.ok(gzipped < 40_000, `dashboard.js is ${gzipped} bytes gzipped`);
  });
});

test('the dashboard source type-checks against the DOM (web/tsconfig.json; the root typecheck covers Node code only)', () => {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'web'], {
    encoding: 'utf8',
  });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
