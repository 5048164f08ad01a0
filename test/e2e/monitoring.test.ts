import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { audienceHealth, checkSeries, monitorHealth } from '../../src/monitor/health.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';

const ADMIN = 'metrics-admin-token';
const t0 = Date.parse('2026-11-28T21:10:00.000Z');
const clock = new ManualClock(t0);
let fake: FakeCordial;
let h: Harness;

const audiences = CART_AND_PURCHASERS;

before(async () => {
  fake = await startFakeCordial({ now: () => clock.now() });
  h = await harness({
    clock,
    newProfileId: sequentialIds(),
    extra: stringify({
      server: { adminToken: { env: 'ADMIN_TOKEN' } },
      destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000 } },
      audiences,
    }),
    env: { CORDIAL_KEY: fake.apiKey, ADMIN_TOKEN: ADMIN },
    sync: { sleep: (ms: number) => Promise.resolve(clock.advance(ms)), random: () => 0.5 },
  });
  await h.listen();
});
after(async () => {
  await h.close();
  await fake.close();
});

async function post(batch: object[]): Promise<Response> {
  return fetch(`${h.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: batch.map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })),
    }),
  });
}

async function scrape(token = ADMIN): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

/** The value of one series line, e.g. `handoff_sync_items_total{destination="cordial",result="ok"}`. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

const shopper = (name: string) => [
  { type: 'identify', userId: name, traits: { email: `${name}@example.com` }, messageId: `${name}-id` },
];

describe('GET /metrics', () => {
  test('refuses a scrape without the admin token, or with a wrong one', async () => {
    const none = await fetch(`${h.url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(await none.text(), /Authorization: Bearer <token>/);
    const wrong = await scrape('not-it');
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /wrong admin token/);
  });

  test('counts ingest, changes, sends, 429s and acknowledgement times exactly', async () => {
    const added = (name: string) => ({
      type: 'track',
      userId: name,
      event: 'Product Added',
      messageId: `${name}-add`,
    });
    const ordered = (name: string) => ({
      type: 'track',
      userId: name,
      event: 'Order Completed',
      messageId: `${name}-order`,
    });
    // ann and bob abandon carts; carol buys at once (so both lists exist before the 429 below).
    const first = await post([
      ...shopper('ann'),
      added('ann'),
      ...shopper('bob'),
      added('bob'),
      ...shopper('carol'),
      ordered('carol'),
    ]);
    assert.equal(first.status, 200, await first.text());
    const repeat = await post([shopper('ann')[0]!]);
    assert.equal(repeat.status, 200);
    const bad = await post([
      { type: 'bogus', userId: 'x' },
      { type: 'track', userId: 'x' },
    ]);
    assert.equal(bad.status, 400);
    await h.app.settle();
    assert.deepEqual(fake.listMembers('cart-0-4h'), ['ann@example.com', 'bob@example.com']);

    // A minute later ann buys: one request moves her across both lists, and is answered 429 first.
    clock.advance(60_000);
    fake.faults.set({ failNext: [{ status: 429 }] });
    assert.equal((await post([ordered('ann')])).status, 200);
    await h.app.settle();
    clock.advance(2_000);
    await h.app.settle();
    assert.deepEqual(fake.listMembers('cart-0-4h'), ['bob@example.com']);
    assert.deepEqual(fake.listMembers('purchased-7d'), ['ann@example.com', 'carol@example.com']);

    const { status, type, text } = await scrape();
    assert.equal(status, 200);
    assert.equal(type, 'text/plain; version=0.0.4; charset=utf-8');
    const expected: Record<string, number> = {
      'handoff_ingest_events_total{source="web",type="identify",result="stored"}': 3,
      'handoff_ingest_events_total{source="web",type="track",result="stored"}': 4,
      'handoff_ingest_events_total{source="web",type="identify",result="duplicate"}': 1,
      'handoff_ingest_events_total{source="web",type="unknown",result="rejected"}': 1,
      'handoff_ingest_events_total{source="web",type="track",result="rejected"}': 1,
      handoff_processor_events_total: 7,
      handoff_processor_lag_events: 0,
      handoff_processor_lag_seconds: 0,
      'handoff_audience_members{audience="cart_0_4h"}': 1,
      'handoff_audience_members{audience="purchased_7d"}': 2,
      'handoff_audience_held_out_members{audience="cart_0_4h"}': 0,
      'handoff_audience_changes_total{audience="cart_0_4h",change="enter"}': 2,
      'handoff_audience_changes_total{audience="cart_0_4h",change="exit"}': 1,
      'handoff_audience_changes_total{audience="purchased_7d",change="enter"}': 2,
      handoff_wakeups_overdue: 0,
      // Every HTTP request Cordial received: two list lookups and creations, three new contacts
      // (PUT → 404 → POST), and ann's move (429, then PUT).
      'handoff_sync_requests_total{destination="cordial",method="GET",endpoint="list",outcome="404"}': 2,
      'handoff_sync_requests_total{destination="cordial",method="POST",endpoint="list",outcome="2xx"}': 2,
      'handoff_sync_requests_total{destination="cordial",method="PUT",endpoint="contact",outcome="404"}': 3,
      'handoff_sync_requests_total{destination="cordial",method="POST",endpoint="contact",outcome="2xx"}': 3,
      'handoff_sync_requests_total{destination="cordial",method="PUT",endpoint="contact",outcome="429"}': 1,
      'handoff_sync_requests_total{destination="cordial",method="PUT",endpoint="contact",outcome="2xx"}': 1,
      'handoff_sync_items_total{destination="cordial",result="ok"}': 5,
      'handoff_sync_items_total{destination="cordial",result="retry"}': 2,
      'handoff_sync_items_total{destination="cordial",result="dead"}': 0,
      'handoff_sync_rate_limited_total{destination="cordial"}': 1,
      'handoff_sync_pending_items{destination="cordial"}': 0,
      'handoff_sync_retry_queue_depth{destination="cordial"}': 0,
      'handoff_sync_dead_letters{destination="cordial",audience="cart_0_4h"}': 0,
      // ann's and bob's entries were acknowledged the moment they were received; ann's exit waited out the 429.
      'handoff_event_to_ack_seconds_bucket{destination="cordial",audience="cart_0_4h",le="0.1"}': 2,
      'handoff_event_to_ack_seconds_count{destination="cordial",audience="cart_0_4h"}': 3,
      'handoff_event_to_ack_seconds_bucket{destination="cordial",audience="purchased_7d",le="0.1"}': 1,
      'handoff_event_to_ack_seconds_count{destination="cordial",audience="purchased_7d"}': 2,
    };
    const actual = Object.fromEntries(Object.keys(expected).map((k) => [k, value(text, k)]));
    assert.deepEqual(actual, expected, text);
    assert.ok(value(text, 'handoff_wakeups_pending')! >= 1, 'cart windows have wake-ups pending');
    // The wait was the 429's Retry-After (1s), at least, and no more than the 2s the clock moved,
    // give or take the limiter's spacing at the halved rate after the 429 (milliseconds).
    const waited = value(
      text,
      'handoff_event_to_ack_seconds_sum{destination="cordial",audience="cart_0_4h"}',
    )!;
    assert.ok(waited >= 1 && waited <= 2.05, `ann's exit took ${waited}s`);

    // Counters only go up: a second scrape adds nothing that did not happen.
    const again = await scrape();
    assert.equal(value(again.text, 'handoff_sync_rate_limited_total{destination="cordial"}'), 1);
    assert.equal(
      value(again.text, 'handoff_ingest_events_total{source="web",type="track",result="stored"}'),
      4,
    );
  });

  test('checks run, are stored as series and appear as metrics and in health', async () => {
    const first = await h.app.monitor.checks.runOnce();
    const cart = first.audiences.find((a) => a.audience === 'cart_0_4h')!;
    assert.equal(cart.size, 1);
    assert.deepEqual(
      cart.checks.map((c) => [c.check, c.destination, c.value, c.status]),
      [
        ['size_drift', '', undefined, 'pass'],
        ['stuck_members', '', 0, 'pass'],
        ['match_rate', 'cordial', 1, 'pass'],
        ['exit_failures', 'cordial', 0, 'pass'],
        ['dead_letters', 'cordial', 0, 'pass'],
      ],
    );
    // An hour on, bob is still inside his 4h window; the second run has the first as history.
    clock.advance(3_600_000);
    await h.app.settle();
    const second = await h.app.monitor.checks.runOnce();
    const drift = second.audiences.find((a) => a.audience === 'cart_0_4h')!.checks[0]!;
    assert.deepEqual([drift.check, drift.value, drift.status], ['size_drift', 0, 'pass']);
    const sizes = await checkSeries(h.app.store, { check: 'size', audience: 'cart_0_4h', since: t0 });
    assert.deepEqual(
      sizes.map((p) => p.value),
      [1, 1],
    );
    const match = await checkSeries(h.app.store, { check: 'match_rate', audience: 'cart_0_4h', since: t0 });
    assert.deepEqual(
      match.map((p) => p.value),
      [1, 1],
    );

    const { text } = await scrape();
    assert.equal(
      value(text, 'handoff_check_status{check="stuck_members",audience="cart_0_4h",destination=""}'),
      0,
    );
    assert.equal(
      value(text, 'handoff_check_value{check="match_rate",audience="purchased_7d",destination="cordial"}'),
      1,
    );

    const health = await audienceHealth(h.app, { now: clock.now(), since: t0 });
    const purchased = health.find((a) => a.key === 'purchased_7d')!;
    assert.equal(purchased.size, 2);
    assert.equal(purchased.enters, 2);
    assert.equal(purchased.exits, 0);
    assert.deepEqual(purchased.matchRate, [
      { destination: 'cordial', list: 'purchased-7d', rate: 1, accepted: 2, eligible: 2 },
    ]);
    assert.equal(purchased.status, 'pass');
    assert.equal(purchased.sizeSeries.at(-1)?.size, 2);
    assert.equal((await monitorHealth(h.app, { now: clock.now(), since: t0 })).status, 'pass');
  });

  test('an exit the destination does not acknowledge in time fails its check', async () => {
    // Cordial refuses everything for a while: bob's exit stays owed past the 15m deadline.
    fake.faults.set({ status: { 503: 1 } });
    clock.advance(4 * 3_600_000);
    await h.app.settle();
    assert.equal(await h.app.store.monitor.wakeups(clock.now()).then((w) => w.overdue), 0);
    const members = await h.app.store.audiences.members('cart_0_4h');
    assert.deepEqual(members, [], 'bob left when his 4h window closed');
    clock.advance(20 * 60_000);
    const snapshot = await h.app.monitor.checks.runOnce();
    const exit = snapshot.audiences
      .find((a) => a.audience === 'cart_0_4h')!
      .checks.find((c) => c.check === 'exit_failures')!;
    assert.equal(exit.status, 'fail');
    assert.equal(exit.value, 1);
    fake.faults.clear();
  });

  test('re-asserting already delivered changes is not counted as delivery latency', async () => {
    clock.advance(3_600_000);
    await h.app.settle();
    assert.deepEqual(fake.listMembers('cart-0-4h'), [], "bob's exit got through once Cordial recovered");
    const before = await scrape();
    const count = 'handoff_event_to_ack_seconds_count{destination="cordial",audience="cart_0_4h"}';
    const ok = 'handoff_sync_items_total{destination="cordial",result="ok"}';
    // bob's exit was caused by his window closing, not by an event: no observation.
    assert.equal(value(before.text, count), 3);

    assert.equal(await h.app.store.sync.reassert('cordial'), 4);
    await h.app.settle();
    const afterwards = await scrape();
    assert.equal(value(afterwards.text, ok), value(before.text, ok)! + 4);
    assert.equal(value(afterwards.text, count), 3);
  });
});
