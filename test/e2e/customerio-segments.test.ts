// A Customer.io segment as an audience's source, mirrored into a Cordial list: polls, campaign
// webhooks, a failed and a truncated poll (no mass exit), a large removal held until confirmed,
// the App API's rate limit, and an audience built on top of the sourced one.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { FakeCustomerIo, MemberInput } from '../fakes/customerio/index.ts';
import { sendWebhook, startFakeCustomerIo } from '../fakes/customerio/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../helpers/harness.ts';
import { takeSnapshot } from '../../src/monitor/snapshot.ts';
import { runCli } from '../helpers/cli.ts';
import { testStorage } from '../helpers/store.ts';

const HOOK_SECRET = 'hook-secret-for-tests';
const LIST = 'cio-vip';

const audiences = (holdout?: number) => [
  {
    key: 'cio_vip',
    name: 'CIO | VIP',
    purpose: 'the VIP segment as Customer.io computes it',
    channels: ['email', 'paid_social'],
    ttl: 'none',
    ...(holdout !== undefined ? { holdout } : {}),
    source: { customerio: { segmentId: 1 } },
    destinations: [{ cordial: { list: LIST, identifier: 'email' } }],
  },
  {
    key: 'vip_cart_4h',
    name: 'CI | VIP | Cart | 0-4h',
    purpose: 'VIPs with a fresh cart',
    channels: ['email'],
    ttl: '4h',
    condition: {
      all: [
        { type: 'in_audience', audience: 'cio_vip' },
        { type: 'event', event: 'Product Added', within: '4h' },
      ],
    },
  },
];

let cio: FakeCustomerIo;
let cordial: FakeCordial;
let h: Harness;

const extra = (holdout?: number) => ({
  customerio: {
    baseUrl: cio.baseUrl,
    appApiKey: { env: 'CIO_APP_KEY' },
    webhookSecret: { env: 'CIO_HOOK_SECRET' },
    pageSize: 40,
  },
  destinations: { cordial: { baseUrl: cordial.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000 } },
  audiences: audiences(holdout),
});
const env = () => ({ CIO_APP_KEY: cio.appApiKey, CIO_HOOK_SECRET: HOOK_SECRET, CORDIAL_KEY: cordial.apiKey });

before(async () => {
  cio = await startFakeCustomerIo();
  cordial = await startFakeCordial();
});
after(async () => {
  await cio.close();
  await cordial.close();
});
beforeEach(async () => {
  cio.reset();
  cordial.reset();
  h = await harness({ extra: stringify(extra()), env: env() });
});
afterEach(() => h.close());

const person = (i: number): MemberInput => ({ id: `u${i}`, email: `u${i}@example.com` });
const people = (from: number, to: number): MemberInput[] =>
  Array.from({ length: to - from + 1 }, (_, k) => person(from + k));

/** Polls the audience, then lets the engine and the sync finish. */
async function poll() {
  const record = await h.app.segments!.poll('cio_vip');
  await h.app.settle();
  return record;
}

const listed = (): string[] =>
  cordial.lists().some((l) => l.name === LIST) ? [...cordial.listMembers(LIST)].sort() : [];

/** The emails of the segment's members, as the Cordial list should hold them. */
const segmentEmails = (): string[] =>
  cio.segments
    .get(1)!
    .members.map((m) => m.email!)
    .sort();

async function hook(change: 'enter' | 'exit', body: unknown, secret = HOOK_SECRET) {
  const url = h.url || (await h.listen());
  return sendWebhook(`${url}/hooks/customerio/cio_vip/${change}`, {
    secretHeader: 'X-Handoff-Secret',
    secret,
    body,
  });
}

async function members(audience = 'cio_vip'): Promise<string[]> {
  const out: string[] = [];
  for (const m of await h.app.store.audiences.members(audience)) {
    const profile = await h.app.store.identity.getProfile(m.profileId);
    out.push(profile!.identifiers.find((i) => i.kind === 'userId')!.value);
  }
  return out.sort();
}

describe('a Customer.io-sourced audience', () => {
  test('polls mirror the segment into the Cordial list, creating and matching profiles', async () => {
    // u1 is already known to Handoff, by email only: the poll must find that profile, not make another.
    const res = await h.server.inject({
      method: 'POST',
      url: '/v1/identify',
      headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
      payload: { anonymousId: 'a-1', traits: { email: 'U1@Example.com' } },
    });
    assert.equal(res.statusCode, 200);
    await h.app.settle();
    cio.segments.create('VIP', people(1, 100));

    const first = await poll();
    assert.equal(first.outcome, 'applied');
    assert.equal(first.members, 100);
    assert.equal(first.entered, 100);
    assert.deepEqual(listed(), segmentEmails());
    assert.equal(await h.app.store.audiences.profileCount(), 100, 'u1 joined its existing profile');
    const u1 = await h.app.store.identity.findProfile({ kind: 'anonymousId', value: 'a-1' });
    assert.ok(u1!.identifiers.some((i) => i.kind === 'userId' && i.value === 'u1'));

    // Churn: 10 leave, 5 join. Only the difference is logged and sent.
    cio.segments.setMembers(1, [...people(11, 100), ...people(201, 205)]);
    const second = await poll();
    assert.deepEqual([second.outcome, second.entered, second.exited], ['applied', 5, 10]);
    assert.deepEqual(listed(), segmentEmails());

    // Nothing changed: nothing logged.
    const third = await poll();
    assert.deepEqual([third.entered, third.exited], [0, 0]);

    // 100 members at 40 a page: 3 pages and 2 count reads per poll, under 10 requests a second.
    assert.ok(cio.peakRequestsPerSecond() <= 10, `peak ${cio.peakRequestsPerSecond()}/s`);
  });

  test('webhooks apply at once; the next poll confirms or corrects them', async () => {
    cio.segments.create('VIP', people(1, 20));
    await poll();

    const entered = await hook('enter', { id: 'u300', email: 'u300@example.com' });
    assert.equal(entered.status, 200, entered.body);
    const exited = await hook('exit', { id: 'u5', email: '' });
    assert.equal(exited.status, 200, exited.body);
    await h.app.settle();
    assert.ok(listed().includes('u300@example.com'));
    assert.ok(!listed().includes('u5@example.com'));

    // Customer.io says u300 is not in the segment and u5 still is: the poll puts both right.
    const corrected = await poll();
    assert.deepEqual([corrected.entered, corrected.exited], [1, 1]);
    assert.deepEqual(listed(), segmentEmails());

    // An exit for someone Handoff never saw changes nothing.
    const unknown = await hook('exit', { id: 'nobody' });
    assert.equal(unknown.status, 200);
    assert.match(unknown.body, /no profile/);
  });

  test('webhook input errors are 4xx that say what is wrong', async () => {
    cio.segments.create('VIP', people(1, 2));
    const url = h.url || (await h.listen());
    const cases: [string, Parameters<typeof sendWebhook>[1], number, RegExp][] = [
      [
        `${url}/hooks/customerio/cio_vip/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: 'wrong', body: { id: 'u1' } },
        401,
        /X-Handoff-Secret/,
      ],
      [
        `${url}/hooks/customerio/cio_vip/enter`,
        { secretHeader: 'X-Other', secret: HOOK_SECRET, body: { id: 'u1' } },
        401,
        /shared secret/,
      ],
      // Without the secret every path is a 401, so which audiences are sourced stays hidden.
      [
        `${url}/hooks/customerio/vip_cart_4h/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: 'wrong', body: { id: 'u1' } },
        401,
        /shared secret/,
      ],
      [
        `${url}/hooks/customerio/no_such_audience/join`,
        { secretHeader: 'X-Other', secret: HOOK_SECRET, body: '{"id": ' },
        401,
        /shared secret/,
      ],
      [
        `${url}/hooks/customerio/vip_cart_4h/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: HOOK_SECRET, body: { id: 'u1' } },
        404,
        /not an audience sourced from a Customer.io segment/,
      ],
      [
        `${url}/hooks/customerio/cio_vip/join`,
        { secretHeader: 'X-Handoff-Secret', secret: HOOK_SECRET, body: { id: 'u1' } },
        404,
        /enter or \/exit/,
      ],
      [
        `${url}/hooks/customerio/cio_vip/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: HOOK_SECRET, body: { id: '', email: '' } },
        400,
        /id, email or cio_id/,
      ],
      [
        `${url}/hooks/customerio/cio_vip/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: HOOK_SECRET, body: { email: 'not-an-email' } },
        400,
        /email: not a valid email/,
      ],
      [
        `${url}/hooks/customerio/cio_vip/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: HOOK_SECRET, body: '[1,2]' },
        400,
        /JSON object/,
      ],
      [
        `${url}/hooks/customerio/cio_vip/enter`,
        { secretHeader: 'X-Handoff-Secret', secret: HOOK_SECRET, body: '{"id": ' },
        400,
        /not valid JSON/,
      ],
    ];
    for (const [target, options, status, message] of cases) {
      const res = await sendWebhook(target, options);
      assert.equal(res.status, status, `${target} ${JSON.stringify(options.body)}: ${res.body}`);
      assert.match(res.body, message);
    }
    assert.equal(await h.app.store.events.head(), 0, 'nothing was logged');
  });

  test('a failed or truncated poll never produces exits; the last complete snapshot stands', async () => {
    cio.segments.create('VIP', people(1, 100));
    await poll();
    const before = listed();

    cio.faults.set({ truncateAfterPages: 1 });
    const truncated = await poll();
    assert.equal(truncated.outcome, 'failed');
    assert.match(truncated.error!, /ended early: 40 of 100 members/);

    cio.faults.set({ truncateAfterPages: 2, truncateWith: 404 });
    const lost = await poll();
    assert.equal(lost.outcome, 'failed');
    assert.match(lost.error!, /answered 404.*page 3/);
    assert.deepEqual(listed(), before);
    assert.equal((await h.app.store.audiences.members('cio_vip')).length, 100);

    // A page that fails once is retried; the pass completes.
    cio.faults.set({ failAfterPages: 1 });
    cio.segments.setMembers(1, people(1, 90));
    const retried = await poll();
    assert.deepEqual([retried.outcome, retried.exited], ['applied', 10]);
    assert.deepEqual(listed(), segmentEmails());
  });

  test('a wrong App API key fails the poll with a reason that says what to fix', async () => {
    await h.close();
    h = await harness({ extra: stringify(extra()), env: { ...env(), CIO_APP_KEY: 'wrong' } });
    cio.segments.create('VIP', people(1, 3));
    const record = await poll();
    assert.equal(record.outcome, 'failed');
    assert.match(record.error!, /401.*customerio\.appApiKey/);
  });

  test('a removal above the allowed share is held until confirmed', async () => {
    cio.segments.create('VIP', people(1, 100));
    await poll();

    cio.segments.setMembers(1, [...people(1, 30), ...people(500, 504)]);
    const held = await poll();
    assert.deepEqual([held.outcome, held.entered, held.exited, held.held], ['held', 5, 0, 70]);
    assert.equal(listed().length, 105, 'the 70 stay in Cordial; the 5 newcomers are added');
    assert.equal((await h.app.store.sources.held('cio_vip'))!.profileIds.length, 70);

    // Still too large on the next poll: still held, not applied piecemeal.
    assert.equal((await poll()).outcome, 'held');
    assert.equal(listed().length, 105);
    const sourceCheck = async (at: number) =>
      (await takeSnapshot(h.app.store, h.app.config, at)).audiences
        .find((x) => x.audience === 'cio_vip')!
        .checks.find((c) => c.check === 'source_poll')!;
    const warned = await sourceCheck(Date.now());
    assert.equal(warned.status, 'warn');
    assert.match(warned.message, /removal of 70 member\(s\) is held: `handoff sync confirm cio_vip`/);
    // Three poll intervals (5m each) with no complete poll: the mirror is stale.
    const stale = await sourceCheck(Date.now() + 15 * 60_000 + 1000);
    assert.equal(stale.status, 'fail');
    assert.match(stale.message, /no complete Customer.io poll in 15m/);

    const confirmed = await h.app.segments!.confirm('cio_vip');
    assert.deepEqual(confirmed, { ok: true, value: { exited: 70 } });
    await h.app.settle();
    assert.deepEqual(listed(), segmentEmails());
    assert.equal(await h.app.store.sources.held('cio_vip'), undefined);
    assert.equal((await h.app.segments!.confirm('cio_vip')).ok, false, 'nothing left to confirm');
  });

  test('a held removal that Customer.io takes back is dropped by the next poll', async () => {
    cio.segments.create('VIP', people(1, 10));
    await poll();
    cio.segments.setMembers(1, people(1, 2));
    assert.equal((await poll()).outcome, 'held');
    cio.segments.setMembers(1, people(1, 9));
    const recovered = await poll();
    assert.deepEqual([recovered.outcome, recovered.exited], ['applied', 1]);
    assert.equal(await h.app.store.sources.held('cio_vip'), undefined);
    assert.deepEqual(listed(), segmentEmails());
  });

  test('stays under the App API rate: a 429 is waited out, nothing is sent inside Retry-After', async () => {
    cio.setRateLimit({ perSecond: 4 });
    cio.segments.create('VIP', people(1, 600));
    const record = await poll();
    assert.equal(record.outcome, 'applied');
    assert.equal(record.members, 600);
    assert.ok(
      cio.requests.some((r) => r.status === 429),
      'the fake refused some requests',
    );
    assert.deepEqual(cio.requestsInsideRetryAfter({ graceMs: 50 }), []);
    assert.deepEqual(listed(), segmentEmails());
  });

  test('audiences built on the sourced one follow it, and holdouts apply', async () => {
    await h.close();
    h = await harness({ extra: stringify(extra(50)), env: env() });
    cio.segments.create('VIP', people(1, 40));
    await poll();
    const all = await h.app.store.audiences.members('cio_vip');
    const held = all.filter((m) => m.heldOut).length;
    assert.equal(all.length, 40);
    assert.ok(held > 5 && held < 35, `${held} of 40 held out at 50%`);
    assert.equal(listed().length, 40 - held, 'held-out members are not sent');

    const res = await h.server.inject({
      method: 'POST',
      url: '/v1/track',
      headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
      payload: { userId: 'u7', event: 'Product Added' },
    });
    assert.equal(res.statusCode, 200);
    await h.app.settle();
    assert.deepEqual(await members('vip_cart_4h'), ['u7']);

    assert.equal((await hook('exit', { id: 'u7' })).status, 200);
    await h.app.settle();
    assert.deepEqual(await members('vip_cart_4h'), [], 'leaving the segment ends the dependent audience');
    const changes = await h.app.store.audiences.changesOf(all[0]!.profileId);
    assert.ok(changes.some((c) => c.audience === 'cio_vip' && c.cause.kind === 'event'));
  });
});

describe('serving', () => {
  test('polls on its interval and keeps the list in step, with no one driving it', async () => {
    await h.close();
    h = await harness({
      extra: stringify({ ...extra(), customerio: { ...extra().customerio, pollEvery: '300ms' } }),
      env: env(),
    });
    cio.segments.create('VIP', people(1, 30));
    h.app.start();
    const until = async (what: string, done: () => boolean) => {
      for (let i = 0; i < 100 && !done(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(done(), what);
    };
    await until('the list filled', () => listed().length === 30);
    cio.segments.setMembers(1, people(11, 35));
    await until('the list followed the segment', () => listed().join() === segmentEmails().join());
    const polls = await h.app.store.sources.polls('cio_vip', 0);
    assert.ok(polls.length >= 2 && polls.every((p) => p.outcome === 'applied'));
  });
});

describe('sourced membership through identity changes', () => {
  test('follows a merge into the surviving profile, and a deletion takes it out', async () => {
    cio.segments.create('VIP', []);
    const send = async (url: string, payload: object) => {
      const res = await h.server.inject({
        method: 'POST',
        url,
        headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
        payload,
      });
      assert.equal(res.statusCode, 200, res.body);
      await h.app.settle();
    };
    // The older profile knows u9 by userId; Customer.io's webhook names the person by email only.
    await send('/v1/track', { userId: 'u9', event: 'Product Viewed' });
    assert.equal((await hook('enter', { email: 'nine@example.com' })).status, 200);
    await h.app.settle();
    const byEmail = await h.app.store.identity.findProfile({ kind: 'email', value: 'nine@example.com' });
    const older = await h.app.store.identity.findProfile({ kind: 'userId', value: 'u9' });
    assert.notEqual(byEmail!.id, older!.id);
    assert.deepEqual(
      (await h.app.store.audiences.members('cio_vip')).map((m) => m.profileId),
      [byEmail!.id],
    );

    // An identify links them: the email's profile merges into the older one, membership and all.
    await send('/v1/identify', { userId: 'u9', traits: { email: 'nine@example.com' } });
    assert.deepEqual(
      (await h.app.store.audiences.members('cio_vip')).map((m) => m.profileId),
      [older!.id],
    );
    assert.deepEqual(listed(), ['nine@example.com']);

    // The segment still lists them by email: the poll finds the merged profile and changes nothing.
    cio.segments.setMembers(1, [{ email: 'nine@example.com' }]);
    const record = await poll();
    assert.deepEqual([record.entered, record.exited], [0, 0]);

    await send('/v1/track', { userId: 'u9', event: 'User Deleted' });
    assert.deepEqual(await h.app.store.audiences.members('cio_vip'), []);
    assert.deepEqual(listed(), []);
  });
});

describe('handoff sync poll | status | confirm', () => {
  test('poll, a held removal in status, confirm', async (t) => {
    const file = join(h.dir, 'handoff.yaml');
    const storage = testStorage(h.dir, 'cli.db');
    t.after(() => storage.drop());
    writeFileSync(file, stringify({ storage: storage.section, ...extra() }));
    const run = (...args: string[]) => runCli(file, env(), ...args);
    cio.segments.create('VIP', people(1, 10));
    const polled = await run('sync', 'poll');
    assert.equal(polled.code, 0, polled.err);
    assert.match(polled.out, /cio_vip: applied; 10 listed, 10 entered, 0 exited/);

    cio.segments.setMembers(1, people(1, 3));
    const held = await run('sync', 'poll', 'cio_vip');
    assert.equal(held.code, 1);
    assert.match(held.out, /cio_vip: held; 3 listed, 0 entered, 0 exited, 7 exits held/);

    const status = await run('sync', 'status');
    assert.equal(status.code, 1);
    assert.match(status.out, /\| cio_vip \| 1 \| .* \| held \| 3 \| 0 \| 0 \| 7 \|/);
    assert.match(
      status.out,
      /would remove 7 of 10 members; held\. Apply it with `handoff sync confirm cio_vip`/,
    );

    const confirmed = await run('sync', 'confirm', 'cio_vip');
    assert.equal(confirmed.code, 0, confirmed.err);
    assert.match(confirmed.out, /^7 exit\(s\) applied to cio_vip/);
    const again = await run('sync', 'confirm', 'cio_vip');
    assert.equal(again.code, 2);
    assert.match(again.err, /no removal is held for cio_vip/);
    const notSourced = await run('sync', 'confirm', 'vip_cart_4h');
    assert.match(notSourced.err, /vip_cart_4h is not a Customer.io-sourced audience/);
  });
});
