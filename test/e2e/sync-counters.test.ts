import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildAudit } from '../../src/monitor/audit.ts';
import { renderJson } from '../../src/monitor/audit-render.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';

// /metrics, the admin API, the audit and the fake's own request log must tell one story:
// requests by method, 429s (responses, not items), items and dead letters.
const ADMIN = 'counters-admin-token';
const t0 = Date.parse('2026-12-01T10:00:00.000Z');
const clock = new ManualClock(t0);
let fake: FakeCordial;
let h: Harness;

before(async () => {
  fake = await startFakeCordial({ now: () => clock.now() });
  h = await harness({
    clock,
    newProfileId: sequentialIds(),
    extra: stringify({
      server: { adminToken: { env: 'ADMIN_TOKEN' } },
      destinations: {
        cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000, concurrency: 1 },
      },
      audiences: CART_AND_PURCHASERS,
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

async function post(batch: object[]): Promise<void> {
  const res = await fetch(`${h.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: batch.map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })),
    }),
  });
  assert.equal(res.status, 200, await res.text());
}

const shopper = (name: string) => [
  { type: 'identify', userId: name, traits: { email: `${name}@example.com` }, messageId: `${name}-id` },
  { type: 'track', userId: name, event: 'Product Added', messageId: `${name}-add` },
];

/** Sums the samples of one metric whose labels include every pair of `match`, grouped by `by`. */
function sumBy(text: string, metric: string, by: string, match: Record<string, string> = {}) {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== metric) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(match).some(([k, v]) => labels[k] !== v)) continue;
    const key = labels[by] ?? '';
    out[key] = (out[key] ?? 0) + Number(m[3]);
  }
  return out;
}

const total = (counts: Record<string, number>): number => Object.values(counts).reduce((n, x) => n + x, 0);

test('/metrics, the admin API, the audit and Cordial agree on requests, 429s, items and dead letters', async () => {
  // Twenty new shoppers abandon carts; the first request of the batch (the list lookup) is answered 429.
  const names = Array.from({ length: 20 }, (_, i) => `s${String(i + 1).padStart(2, '0')}`);
  fake.faults.set({ failNext: [{ status: 429 }] });
  await post(names.flatMap(shopper));
  await h.app.settle();
  clock.advance(2_000);
  await h.app.settle();
  assert.equal(fake.listMembers('cart-0-4h').length, 20);
  // One more shopper whose contact Cordial refuses outright: a dead letter.
  fake.faults.set({ failNext: [{ status: 422 }] });
  await post(shopper('zed'));
  await h.app.settle();
  clock.advance(1_000);

  // What Cordial saw.
  const seen: Record<string, number> = {};
  for (const r of fake.requests) seen[r.method] = (seen[r.method] ?? 0) + 1;
  const seen429 = fake.requests.filter((r) => r.rateLimited).length;
  const seen422 = fake.requests.filter((r) => r.status === 422).length;
  // The lookup twice (429, then found missing), the list's creation, 20 × (PUT → 404 → POST), zed's PUT.
  assert.deepEqual(seen, { GET: 2, POST: 21, PUT: 21 });
  assert.equal(seen429, 1);
  assert.equal(seen422, 1);
  const okContacts = fake.requests.filter(
    (r) => r.path.startsWith('/v2/contacts') && r.status !== null && r.status >= 200 && r.status < 300,
  ).length;

  // /metrics.
  const scraped = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN}` } });
  const text = await scraped.text();
  assert.deepEqual(sumBy(text, 'handoff_sync_requests_total', 'method'), seen, text);
  assert.deepEqual(sumBy(text, 'handoff_sync_requests_total', 'outcome', { outcome: '429' }), {
    '429': seen429,
  });
  assert.deepEqual(sumBy(text, 'handoff_sync_rate_limited_total', 'destination'), { cordial: seen429 });
  const items = sumBy(text, 'handoff_sync_items_total', 'result');
  // Each contact request carries one list here, so acknowledged items are Cordial's 2xx contact answers.
  assert.deepEqual(items, { ok: okContacts, retry: 20, dead: seen422 });
  assert.equal(total(sumBy(text, 'handoff_sync_dead_letters', 'destination')), seen422);

  // The admin API (what the dashboard's cards show).
  const res = await fetch(`${h.url}/api/admin/sync`, { headers: { authorization: `Bearer ${ADMIN}` } });
  assert.equal(res.status, 200);
  const view = (await res.json()) as {
    rateLimited: number;
    sends: { rateLimited: number; requests: number }[];
    deadLetters: unknown[];
    traffic: {
      requests: number;
      byMethod: Record<string, number>;
      rateLimited: number;
      items: object;
      deadLetters: number;
    };
  };
  assert.equal(view.rateLimited, seen429);
  assert.equal(view.traffic.rateLimited, seen429);
  assert.deepEqual(view.traffic.byMethod, seen);
  assert.equal(view.traffic.requests, fake.requests.length);
  assert.equal(
    view.sends.reduce((n, s) => n + s.requests, 0),
    fake.requests.length,
  );
  assert.deepEqual(view.traffic.items, items);
  assert.equal(view.traffic.deadLetters, seen422);
  assert.equal(view.deadLetters.length, seen422);

  // The audit's JSON.
  const report = JSON.parse(renderJson(await buildAudit(h.app, { now: clock.now(), since: t0 }))) as {
    destinations: {
      destination: string;
      requests: number;
      byMethod: object;
      rateLimited: number;
      items: object;
      deadLetters: number;
    }[];
  };
  const [cordial] = report.destinations;
  assert.equal(cordial?.destination, 'cordial');
  assert.deepEqual(cordial.byMethod, seen);
  assert.equal(cordial.requests, fake.requests.length);
  assert.equal(cordial.rateLimited, seen429);
  assert.deepEqual(cordial.items, items);
  assert.equal(cordial.deadLetters, seen422);
});
