import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { WRITE_KEYS, basic, harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { isHeldOut } from '../../src/audiences/index.ts';
import type { MembershipChange } from '../../src/engine/model.ts';

const example = parse(readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: { key: string }[];
};
const t0 = Date.parse('2026-11-28T21:10:00.000Z');
const H = 3_600_000;

async function world(audiences: unknown[] = example.audiences) {
  const clock = new ManualClock(t0);
  const h = await harness({ clock, newProfileId: sequentialIds(), extra: stringify({ audiences }) });
  const seen: MembershipChange[] = [];
  h.app.bus.on('engine.changes', (e) => seen.push(...e.changes));
  const send = async (...batch: object[]) => {
    const res = await h.server.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
      payload: { batch: batch.map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })) },
    });
    assert.equal(res.statusCode, 200, res.body);
    await h.app.settle();
  };
  const members = async (audience: string) =>
    (await h.app.store.audiences.members(audience)).map((m) => m.profileId).sort();
  return { h, clock, seen, send, members };
}

async function using(w: Awaited<ReturnType<typeof world>>, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } finally {
    await w.h.close();
  }
}

describe('identity merges re-evaluate the merged profile from its full history', () => {
  test('an anonymous cart and a known purchase merge: the survivor is a purchaser, not an abandoner', async () => {
    const w = await world();
    await using(w, async () => {
      await w.send({
        type: 'track',
        anonymousId: 'anon-1',
        event: 'Product Added',
        properties: { product_id: 'p' },
      });
      assert.deepEqual(await w.members('cart_0_4h'), ['p1']);
      w.clock.advance(H);
      await w.send({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { revenue: 40 } });
      assert.deepEqual(await w.members('purchased_7d'), ['p2']);
      w.clock.advance(H);
      const before = w.seen.length;
      await w.send({ type: 'identify', userId: 'u1', anonymousId: 'anon-1' });
      // p1 is older, so it survives; the purchase (after the add) now exits the cart audience.
      assert.deepEqual(await w.members('cart_0_4h'), []);
      assert.deepEqual(await w.members('purchased_7d'), ['p1']);
      const changes = w.seen
        .slice(before)
        .filter((c) => c.audience === 'cart_0_4h' || c.audience === 'purchased_7d')
        .map((c) => `${c.change} ${c.audience} ${c.profileId} ${c.cause.kind}`)
        .sort();
      assert.deepEqual(changes, [
        'enter purchased_7d p1 event',
        'exit cart_0_4h p1 event',
        'exit purchased_7d p2 merge',
      ]);
    });
  });
  test("each side's orders count: one order apiece makes a merged repeat buyer", async () => {
    const w = await world();
    await using(w, async () => {
      const D = 24 * H;
      const order = (who: object, daysAgo: number) =>
        w.send({
          type: 'track',
          ...who,
          event: 'Order Completed',
          properties: { revenue: 30 },
          timestamp: new Date(t0 - daysAgo * D).toISOString(),
        });
      await order({ anonymousId: 'guest-1' }, 50);
      await order({ userId: 'u1' }, 46);
      assert.deepEqual(await w.members('replenish_2x_45d'), [], 'one order each is not a repeat buyer');
      await w.send({ type: 'identify', userId: 'u1', anonymousId: 'guest-1' });
      assert.deepEqual(await w.members('replenish_2x_45d'), ['p1'], 'two orders, the last 46 days ago');
    });
  });
});

describe('holdout', () => {
  test('held-out members are in the audience, flagged by a stable hash of profile and audience', async () => {
    const audiences = [
      {
        key: 'viewers',
        name: 'CI | View | 1d',
        purpose: 'test',
        channels: ['email'],
        ttl: '1d',
        holdout: 50,
        condition: { type: 'event', event: 'Product Viewed', within: '1d' },
      },
    ];
    const w = await world(audiences);
    await using(w, async () => {
      await w.send(
        ...Array.from({ length: 40 }, (_, i) => ({
          type: 'track',
          userId: `v${i}`,
          event: 'Product Viewed',
        })),
      );
      const members = await w.h.app.store.audiences.members('viewers');
      assert.equal(members.length, 40);
      const held = members.filter((m) => m.heldOut);
      assert.ok(held.length > 5 && held.length < 35, `${held.length} of 40 held out at 50%`);
      for (const m of members) assert.equal(m.heldOut, isHeldOut(m.profileId, 'viewers', 50));
      const flags = new Map(members.map((m) => [m.profileId, m.heldOut]));
      const enters = w.seen.filter((c) => c.change === 'enter');
      assert.equal(enters.length, 40);
      for (const c of enters)
        assert.equal(
          c.heldOut,
          flags.get(c.profileId),
          'the change carries the flag so destinations can skip it',
        );
    });
  });
});

describe('top percent', () => {
  test('vip_top_10pct holds the top 10% by lifetime revenue once rankings refresh', async () => {
    const w = await world();
    await using(w, async () => {
      await w.send(
        ...Array.from({ length: 20 }, (_, i) => ({
          type: 'track',
          userId: `c${String(i).padStart(2, '0')}`,
          event: 'Order Completed',
          properties: { revenue: (i + 1) * 10 },
        })),
      );
      await w.h.app.processor.refreshRankings();
      const vips = await w.h.app.store.audiences.members('vip_top_10pct');
      const users = await Promise.all(
        vips.map(
          async (m) =>
            (await w.h.app.store.identity.getProfile(m.profileId))?.identifiers.find(
              (i) => i.kind === 'userId',
            )?.value,
        ),
      );
      assert.deepEqual(users.sort(), ['c18', 'c19']);
      // Two big spenders: 22 ranked profiles make the top 10% three (ceil 2.2) at the next refresh.
      await w.send({ type: 'track', userId: 'c20', event: 'Order Completed', properties: { revenue: 1000 } });
      await w.send({ type: 'track', userId: 'c21', event: 'Order Completed', properties: { revenue: 900 } });
      await w.h.app.processor.refreshRankings();
      const after = await Promise.all(
        (await w.h.app.store.audiences.members('vip_top_10pct')).map(
          async (m) =>
            (await w.h.app.store.identity.getProfile(m.profileId))?.identifiers.find(
              (i) => i.kind === 'userId',
            )?.value,
        ),
      );
      assert.deepEqual(after.sort(), ['c19', 'c20', 'c21']);
    });
  });
});

describe('top percent between refreshes', () => {
  test('ranks are exact after every batch: a moved threshold re-ranks the profiles it passed', async () => {
    const w = await world([
      {
        key: 'top_half',
        name: 'VIP | Top 50%',
        purpose: 'test',
        channels: ['email'],
        ttl: 'none',
        condition: {
          type: 'top_percent',
          percent: 50,
          event: 'Order Completed',
          fn: 'sum',
          property: 'revenue',
        },
      },
    ]);
    await using(w, async () => {
      const spends: [string, number][] = [
        ['u1', 100],
        ['u2', 10],
        ['u3', 20],
        ['u4', 30],
        ['u5', 500],
        ['u6', 600],
        ['u7', 700],
      ];
      for (const [userId, revenue] of spends) {
        await w.send({ type: 'track', userId, event: 'Order Completed', properties: { revenue } });
      }
      const users = async () =>
        (
          await Promise.all(
            (await w.h.app.store.audiences.members('top_half')).map(
              async (m) =>
                (await w.h.app.store.identity.getProfile(m.profileId))?.identifiers.find(
                  (i) => i.kind === 'userId',
                )?.value,
            ),
          )
        ).sort();
      // 7 ranked: the top 50% is 4 (ceil 3.5): u7, u6, u5, u1 — with no refresh having run.
      assert.deepEqual(await users(), ['u1', 'u5', 'u6', 'u7']);
      assert.equal(
        await w.h.app.processor.refreshRankings(),
        0,
        'the periodic refresh finds nothing left to fix',
      );
    });
  });
});

describe('events no audience reads', () => {
  test('a page view after the window closed takes no credit: time takes the cart abandoner out', async () => {
    const w = await world();
    await using(w, async () => {
      await w.send({ type: 'track', userId: 'u1', event: 'Product Added', properties: { product_id: 'p' } });
      assert.deepEqual(await w.members('cart_0_4h'), ['p1']);
      w.clock.advance(4 * H + 1);
      const before = w.seen.length;
      await w.send({ type: 'page', userId: 'u1', name: 'Home' });
      const exit = w.seen.slice(before).find((c) => c.audience === 'cart_0_4h');
      assert.equal(exit?.change, 'exit');
      assert.equal(exit?.cause.kind, 'window', 'the 4h window closed; the page view changed nothing');
      assert.deepEqual(await w.members('cart_0_4h'), []);
    });
  });
});

describe('late and out-of-order events', () => {
  test('a late, older purchase does not exit a newer cart; changes are never stamped in the past', async () => {
    const w = await world();
    await using(w, async () => {
      await w.send({ type: 'track', userId: 'late', event: 'Product Added', properties: {} });
      w.clock.advance(H);
      await w.send({
        type: 'track',
        userId: 'late',
        event: 'Order Completed',
        properties: { revenue: 10 },
        timestamp: new Date(t0 - H).toISOString(),
      });
      assert.deepEqual(await w.members('cart_0_4h'), ['p1'], 'the purchase came before the add');
      assert.ok(
        w.seen.every((c) => c.at >= t0),
        'no change is dated before it was decided',
      );
      const purchased = w.seen.find((c) => c.audience === 'purchased_7d');
      assert.equal(purchased?.at, t0 + H, 'entered when the late event arrived, not when it happened');
    });
  });
});

describe('durability', () => {
  test('a failed batch commit leaves no change behind; the retry emits each change exactly once', async () => {
    const w = await world();
    await using(w, async () => {
      const store = w.h.app.store;
      const commit = store.commit.bind(store);
      let failures = 1;
      // As better-sqlite3 reports a full disk: a transient failure, retried rather than quarantined.
      const full = Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      store.commit = (batch) => (failures-- > 0 ? Promise.reject(full) : commit(batch));
      await w.h.app.ingest.ingest('web', [
        { type: 'track', userId: 'd1', event: 'Product Added', timestamp: new Date(t0).toISOString() },
      ]);
      await assert.rejects(w.h.app.processor.drain(), /disk is full/);
      assert.deepEqual(await store.audiences.changesAfter(0, 100), []);
      assert.equal(await store.cursors.get('processor'), 0);
      await w.h.app.processor.drain();
      const changes = (await store.audiences.changesAfter(0, 100)).map((c) => `${c.change} ${c.audience}`);
      assert.deepEqual(changes, ['enter cart_0_4h']);
      await w.h.app.processor.drain();
      assert.equal((await store.audiences.changesAfter(0, 100)).length, 1, 'nothing is applied twice');
      assert.deepEqual(await store.quarantine.list(), [], 'a transient failure quarantines nothing');
    });
  });
});
