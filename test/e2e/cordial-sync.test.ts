import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/sync/retry-policy.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';

const audiences = CART_AND_PURCHASERS;

const t0 = Date.parse('2026-11-28T21:10:00.000Z');
// Waits advance the virtual clock (the fake's rate limiter reads it too); a generous retry budget
// so heavy fault rates converge rather than dead-letter.
const SYNC = {
  sleep: (ms: number) => Promise.resolve(clock.advance(ms)),
  random: () => 0.5,
  retryPolicy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 30 },
};
let fake: FakeCordial;
let h: Harness;
const clock = new ManualClock(t0);

before(async () => {
  fake = await startFakeCordial({ now: () => clock.now() });
});
after(() => fake.close());
/** A Handoff serving these audiences, syncing to the fake. */
const handoff = (defs: unknown[] = audiences, cordial: Record<string, unknown> = {}): Promise<Harness> =>
  harness({
    clock,
    newProfileId: sequentialIds(),
    extra: stringify({
      destinations: {
        cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000, ...cordial },
      },
      audiences: defs,
    }),
    env: { CORDIAL_KEY: fake.apiKey },
    sync: SYNC,
  });

/** Replaces this test's Handoff with one serving other definitions. */
async function redefine(defs: unknown[], cordial: Record<string, unknown> = {}): Promise<void> {
  await h.close();
  h = await handoff(defs, cordial);
}

beforeEach(async () => {
  fake.reset();
  fake.faults.clear();
  clock.set(t0);
  h = await handoff();
});
afterEach(() => h.close());

async function send(...batch: object[]): Promise<void> {
  const res = await h.server.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
    payload: { batch: batch.map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })) },
  });
  assert.equal(res.statusCode, 200, res.body);
  await h.app.settle();
}

/** A list's members; a list Cordial does not have yet has none. */
const listed = (list: string): string[] =>
  fake.lists().some((l) => l.name === list) ? fake.listMembers(list) : [];

const shopper = (email: string, userId = email.split('@')[0]!) => [
  { type: 'identify', userId, traits: { email } },
  { type: 'track', userId, event: 'Product Added', properties: { product_id: 'bundle-01' } },
];

/** Every list holds exactly the audience's members that are not held out. */
async function assertMirrored(): Promise<void> {
  for (const a of audiences) {
    const list = a.destinations[0]!.cordial.list;
    const expected: string[] = [];
    for (const m of await h.app.store.audiences.members(a.key)) {
      if (m.heldOut) continue;
      const profile = await h.app.store.identity.getProfile(m.profileId);
      expected.push(profile!.identifiers.find((i) => i.kind === 'email')!.address!);
    }
    assert.deepEqual(listed(list), expected.sort(), `list ${list}`);
  }
}

describe('the D2C scenario', () => {
  test('a bundle added at 21:10: in the cart list; a purchase: out of it and into the 7-day purchasers list', async () => {
    await send(...shopper('ann@example.com'));
    assert.deepEqual(listed('cart-0-4h'), ['ann@example.com']);
    assert.equal(
      fake.contact('email:ann@example.com')?.channels?.email?.subscribeStatus ?? 'none',
      'none',
      'subscription untouched',
    );
    clock.advance(3_600_000);
    await send({ type: 'track', userId: 'ann', event: 'Order Completed', properties: { revenue: 80 } });
    assert.deepEqual(listed('cart-0-4h'), []);
    assert.deepEqual(listed('purchased-7d'), ['ann@example.com']);
    const last = fake.requests.filter((r) => r.method === 'PUT').at(-1);
    assert.deepEqual(
      last?.body,
      { 'purchased-7d': true, 'cart-0-4h': false },
      'one request per contact, suppression first',
    );
    await assertMirrored();
  });

  test('held-out members never reach Cordial; exits at 4h need no event', async () => {
    await redefine([{ ...audiences[0]!, holdout: 10 }, audiences[1]!]);
    await send(...Array.from({ length: 40 }, (_, i) => shopper(`s${i}@example.com`)).flat());
    const members = await h.app.store.audiences.members('cart_0_4h');
    const held = members.filter((m) => m.heldOut).length;
    assert.ok(held > 0, 'some are held out at 10%');
    assert.equal(listed('cart-0-4h').length, 40 - held);
    await assertMirrored();
    clock.advance(4 * 3_600_000);
    await h.app.settle();
    assert.deepEqual(listed('cart-0-4h'), []);
    await assertMirrored();
  });

  test('lists are created on first use; an existing list is reused', async () => {
    fake.seedList('purchased-7d');
    await send(...shopper('bo@example.com'));
    assert.deepEqual(
      fake
        .lists()
        .map((l) => l.name)
        .sort(),
      ['cart-0-4h', 'purchased-7d'],
    );
  });
});

describe('deleting a profile', () => {
  test('User Deleted removes the profile’s data and takes it out of every audience and list', async () => {
    await send(...shopper('gone@example.com'), ...shopper('stays@example.com'));
    await send({ type: 'track', userId: 'gone', event: 'Order Completed', properties: { revenue: 10 } });
    assert.deepEqual(listed('purchased-7d'), ['gone@example.com']);
    await send({ type: 'track', userId: 'gone', event: 'User Deleted' });
    assert.deepEqual(listed('purchased-7d'), []);
    assert.deepEqual(listed('cart-0-4h'), ['stays@example.com']);
    assert.equal(await h.app.store.identity.findProfile({ kind: 'userId', value: 'gone' }), undefined);
    const left = (await h.app.store.events.readAfter(0, 1000)).filter((e) => e.userId === 'gone');
    assert.deepEqual(left, [], 'its events are gone from the log too');
    const exits = (await h.app.store.audiences.changesAfter(0, 1000)).filter(
      (c) => c.cause.kind === 'deleted',
    );
    assert.deepEqual(
      exits.map((c) => c.audience),
      ['purchased_7d'],
    );
    // The same userId later starts afresh.
    await send(...shopper('gone@example.com'));
    assert.deepEqual(listed('cart-0-4h'), ['gone@example.com', 'stays@example.com']);
  });
});

describe('identifiers that arrive late', () => {
  test('a member who entered without an email is sent once the email arrives', async () => {
    await send({ type: 'track', userId: 'late', event: 'Product Added' });
    const unmatched = async () =>
      (await h.app.store.sync.counts('cordial')).find((c) => c.audience === 'cart_0_4h')?.unmatched ?? 0;
    assert.equal(await unmatched(), 1);
    assert.deepEqual(listed('cart-0-4h'), []);
    await send({ type: 'identify', userId: 'late', traits: { email: 'late@example.com' } });
    assert.deepEqual(listed('cart-0-4h'), ['late@example.com']);
    assert.equal(await unmatched(), 0);
    // Leaving still removes them, through the item the re-match created.
    await send({ type: 'track', userId: 'late', event: 'Order Completed' });
    assert.deepEqual(listed('cart-0-4h'), []);
  });

  test('an unmatched member who left before the email arrived is never sent', async () => {
    await send({ type: 'track', userId: 'gone', event: 'Product Added' });
    await send({ type: 'track', userId: 'gone', event: 'Order Completed' });
    await send({ type: 'identify', userId: 'gone', traits: { email: 'gone@example.com' } });
    assert.deepEqual(listed('cart-0-4h'), []);
    assert.deepEqual(listed('purchased-7d'), ['gone@example.com']);
  });
});

describe('under faults', () => {
  test('5xx, resets and latency: retried with backoff until the lists converge', async () => {
    fake.faults.set({ status: { 500: 0.3, 503: 0.2 }, resetRate: 0.1, latencyMs: [0, 5], seed: 7 });
    await send(...Array.from({ length: 30 }, (_, i) => shopper(`f${i}@example.com`)).flat());
    for (
      let round = 0;
      round < 40 && (await h.app.store.sync.counts('cordial')).some((c) => c.pending > 0);
      round++
    ) {
      clock.advance(60_000);
      await h.app.settle();
    }
    fake.faults.clear();
    clock.advance(600_000);
    await h.app.settle();
    await assertMirrored();
    assert.deepEqual((await h.app.store.sync.deadLetters('cordial')).length, 0);
  });

  test('over the account’s rate: 429s pause every send for Retry-After, no attempt is burned, nothing is sent inside a wait', async () => {
    // One request in flight at a time, so every request after a 429 provably saw it.
    await redefine(audiences, { concurrency: 1 });
    fake.setRateLimit({ perSecond: 3 });
    try {
      await send(...Array.from({ length: 20 }, (_, i) => shopper(`rl${i}@example.com`)).flat());
      for (
        let round = 0;
        round < 60 && (await h.app.store.sync.counts('cordial')).some((c) => c.pending > 0);
        round++
      ) {
        clock.advance(1_000);
        await h.app.settle();
      }
      const limited = fake.requests.filter((r) => r.rateLimited);
      assert.ok(limited.length > 0, 'the burst was rate limited');
      // A request sent after a 429 came back and before its Retry-After passed would be a violation;
      // requests already in flight when it came back (same instant on this clock) are not.
      const violations = fake.requests.filter((r) =>
        limited.some(
          (l) =>
            l.respondedAt !== null && l.retryAt !== undefined && r.at > l.respondedAt && r.at < l.retryAt,
        ),
      );
      assert.deepEqual(violations, [], 'no request inside a Retry-After wait');
      assert.ok(
        (await h.app.store.sync.items('cordial')).every((i) => i.attempts === 0),
        'waits are not attempts',
      );
      await assertMirrored();
    } finally {
      fake.setRateLimit(undefined);
    }
  });

  test('a destination that keeps failing: dead-lettered after the policy’s attempts, with the last error', async () => {
    await send(...shopper('first@example.com'));
    fake.faults.set({ status: { 503: 1 } });
    await send(...shopper('down@example.com'));
    // Rounds of 5 minutes (the backoff's cap), well inside the 4h window.
    for (let round = 0; round < 40; round++) {
      clock.advance(300_000);
      await h.app.settle();
    }
    const [dead] = await h.app.store.sync.deadLetters('cordial');
    assert.equal(dead?.contact, 'email:down@example.com');
    assert.equal(dead?.attempts, 30);
    assert.equal(dead?.status, 503);
  });

  test('a permanent 4xx is dead-lettered with Cordial’s errorKey and the request; retry re-sends it', async () => {
    // A first contact makes the list known, so the next request is the PUT.
    await send(...shopper('first@example.com'));
    fake.faults.set({
      failNext: [
        {
          status: 422,
          body: { error: true, errorKey: 'GENERIC_ERROR_KEY', message: 'Key not exist: cart-0-4h' },
        },
      ],
    });
    await send(...shopper('dl@example.com'));
    const dead = await h.app.store.sync.deadLetters('cordial');
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.status, 422);
    assert.equal(dead[0]?.errorKey, 'GENERIC_ERROR_KEY');
    assert.match(dead[0]?.message ?? '', /Key not exist/);
    assert.match(dead[0]?.request ?? '', /PUT \/contacts\/email:dl@example.com/);
    assert.equal(await h.app.store.sync.retry('cordial'), 1);
    await h.app.settle();
    await assertMirrored();
  });
});

describe('coalescing and activation delay', () => {
  test('an enter and exit inside the activation delay send nothing', async () => {
    const delayed = [{ ...audiences[0]!, holdout: 0, activationDelay: '30m' }, audiences[1]!];
    await h.close();
    h = await harness({
      clock,
      newProfileId: sequentialIds(),
      extra: stringify({
        destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' } } },
        audiences: delayed,
      }),
      env: { CORDIAL_KEY: fake.apiKey },
      sync: SYNC,
    });
    await send(...shopper('quick@example.com'));
    clock.advance(10 * 60_000);
    await send({ type: 'track', userId: 'quick', event: 'Order Completed', properties: { revenue: 5 } });
    clock.advance(60 * 60_000);
    await h.app.settle();
    assert.deepEqual(listed('cart-0-4h'), []);
    assert.ok(
      !fake.requests.some((r) => JSON.stringify(r.body ?? {}).includes('cart-0-4h')),
      'the cart list was never mentioned',
    );
    assert.deepEqual(listed('purchased-7d'), ['quick@example.com']);
  });

  test('a 1h cadence sends the audience net change at the hour, nothing in between', async () => {
    // t0 is 21:10; the boundaries are 22:00 and 23:00.
    await redefine([{ ...audiences[0]!, cadence: '1h' }, audiences[1]!]);
    await send(...shopper('ann@example.com'), ...shopper('bob@example.com'));
    clock.advance(20 * 60_000); // 21:30
    await send({ type: 'track', userId: 'bob', event: 'Order Completed', properties: { revenue: 5 } });
    await h.app.settle();
    assert.deepEqual(listed('cart-0-4h'), [], 'nothing before the boundary');
    assert.deepEqual(listed('purchased-7d'), ['bob@example.com'], 'realtime audiences are not held');
    clock.set(Date.parse('2026-11-28T22:00:00.000Z'));
    await h.app.settle();
    assert.deepEqual(listed('cart-0-4h'), ['ann@example.com'], 'bob entered and left within the hour');
    assert.ok(
      !fake.requests.some((r) => JSON.stringify(r.body ?? {}).includes('"cart-0-4h":false')),
      'no removal for an add never sent',
    );
    clock.advance(10 * 60_000); // 22:10
    await send({ type: 'track', userId: 'ann', event: 'Order Completed', properties: { revenue: 5 } });
    await h.app.settle();
    assert.deepEqual(listed('cart-0-4h'), ['ann@example.com'], 'the exit waits for 23:00');
    clock.set(Date.parse('2026-11-28T23:00:00.000Z'));
    await h.app.settle();
    assert.deepEqual(listed('cart-0-4h'), []);
  });
});
