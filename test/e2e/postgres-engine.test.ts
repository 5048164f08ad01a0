import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { WRITE_KEYS, basic, sequentialIds, testConfig } from '../helpers/harness.ts';
import { createApp } from '../../src/app/app.ts';
import { buildServer } from '../../src/server/server.ts';
import { serverServices } from '../../src/app/services.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { openTestPostgresStore } from '../../src/store/postgres/testing.ts';

// The processor path on the PostgreSQL store: events in over HTTP, identity resolved and merged,
// audiences evaluated, memberships committed, all through the same app as on SQLite.

const t0 = Date.parse('2026-11-28T21:10:00.000Z');
const H = 3_600_000;

const example = parse(readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: { key: string }[];
};

test('on PostgreSQL, ingested events become memberships, and a merge re-evaluates the survivor', async () => {
  const clock = new ManualClock(t0);
  const store = await openTestPostgresStore();
  const app = createApp({
    config: testConfig('/nonexistent/unused.db', stringify({ audiences: example.audiences })),
    store,
    clock,
    newProfileId: sequentialIds(),
  });
  const server = buildServer(serverServices(app));
  const send = async (...batch: object[]): Promise<void> => {
    const res = await server.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
      payload: { batch: batch.map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })) },
    });
    assert.equal(res.statusCode, 200, res.body);
    await app.settle();
  };
  const members = async (audience: string): Promise<string[]> =>
    (await store.audiences.members(audience)).map((m) => m.profileId).sort();
  try {
    await send(
      { type: 'track', anonymousId: 'anon-1', event: 'Product Added', properties: { product_id: 'a' } },
      { type: 'track', anonymousId: 'anon-2', event: 'Product Added', properties: { product_id: 'b' } },
    );
    assert.deepEqual(await members('cart_0_4h'), ['p1', 'p2']);
    clock.advance(H);
    await send({ type: 'track', userId: 'u1', event: 'Order Completed', properties: { revenue: 40 } });
    assert.deepEqual(await members('purchased_7d'), ['p3']);
    clock.advance(H);
    await send({ type: 'identify', userId: 'u1', anonymousId: 'anon-1', traits: { email: 'a@example.com' } });
    // p1 is older, so it survives with p3's order: the order after the add exits the cart audience.
    assert.deepEqual(await members('cart_0_4h'), ['p2']);
    assert.deepEqual(await members('purchased_7d'), ['p1']);
    const profile = await store.identity.findProfile({ kind: 'userId', value: 'u1' });
    assert.equal(profile?.id, 'p1');
    assert.deepEqual(
      profile?.merges.map((m) => [m.from, m.into]),
      [['p3', 'p1']],
    );
    assert.equal((await store.audiences.history(['p1'])).length, 3, 'the survivor holds every event');
    assert.equal(await store.cursors.get('processor'), await store.events.head());
  } finally {
    await server.close();
    await app.stop();
  }
});
