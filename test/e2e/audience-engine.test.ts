import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import type { MembershipChange } from '../../src/engine/model.ts';

// The reference audiences from the example config, run through serve's ingest, processor and scheduler.
const example = parse(readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: unknown[];
};
const t0 = Date.parse('2026-11-28T21:10:00.000Z');
const H = 3_600_000;
const clock = new ManualClock(t0);
let h: Harness;
const seen: MembershipChange[] = [];

before(async () => {
  h = await harness({
    clock,
    newProfileId: sequentialIds(),
    extra: stringify({ audiences: example.audiences }),
  });
  h.app.bus.on('engine.changes', (e) => seen.push(...e.changes));
});
after(() => h.close());

async function send(messages: object[]): Promise<void> {
  const res = await h.server.inject({
    method: 'POST',
    url: '/v1/batch',
    headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
    payload: { batch: messages },
  });
  assert.equal(res.statusCode, 200, res.body);
  await h.app.settle();
}

async function at(ms: number): Promise<void> {
  clock.set(ms);
  await h.app.settle();
}

const changesOf = (since: number) =>
  seen.slice(since).map((c) => `${c.change} ${c.audience} (${c.cause.kind})`);
const members = async (audience: string) =>
  (await h.app.store.audiences.members(audience)).map((m) => m.profileId);

describe('a bundle added to cart at 21:10, no purchase', () => {
  test('enters cart_0_4h at once, with the event as the cause', async () => {
    await send([
      {
        type: 'identify',
        userId: 'ann',
        traits: { email: 'ann@example.com' },
        timestamp: new Date(t0).toISOString(),
      },
      {
        type: 'track',
        userId: 'ann',
        event: 'Product Added',
        properties: { product_id: 'bundle-01', price: 49 },
        timestamp: new Date(t0).toISOString(),
        messageId: 'add-1',
      },
    ]);
    assert.deepEqual(await members('cart_0_4h'), ['p1']);
    const enter = seen.find((c) => c.audience === 'cart_0_4h');
    assert.deepEqual(enter?.cause, { kind: 'event', offset: 2, messageId: 'add-1', event: 'Product Added' });
    assert.equal(enter?.at, t0);
  });

  test('is still in one millisecond before 4h, and leaves at exactly 4h with no new event', async () => {
    const before = seen.length;
    await at(t0 + 4 * H - 1);
    assert.deepEqual(await members('cart_0_4h'), ['p1']);
    assert.deepEqual(changesOf(before), []);
    await at(t0 + 4 * H);
    assert.deepEqual(await members('cart_0_4h'), []);
    assert.deepEqual(await members('cart_4_24h'), ['p1']);
    assert.deepEqual(changesOf(before).sort(), ['enter cart_4_24h (window)', 'exit cart_0_4h (window)']);
  });

  test('the scheduler fires the exit on its own while serving', async () => {
    clock.set(t0 + 5 * H);
    await send([
      {
        type: 'track',
        userId: 'bob',
        event: 'Product Added',
        properties: { product_id: 'x' },
        timestamp: new Date(t0 + 5 * H).toISOString(),
      },
    ]);
    assert.ok((await members('cart_0_4h')).length === 1);
    clock.set(t0 + 9 * H);
    h.app.start();
    const deadline = Date.now() + 5_000;
    // The timer is armed for a wake-up already due on the virtual clock, so it fires straight away.
    while ((await members('cart_0_4h')).length > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(await members('cart_0_4h'), []);
  });

  test('a purchase exits the cart audience and enters the 7-day purchasers suppression', async () => {
    const before = seen.length;
    await send([
      {
        type: 'track',
        userId: 'ann',
        event: 'Order Completed',
        properties: { revenue: 120 },
        timestamp: new Date(t0 + 9 * H).toISOString(),
        messageId: 'order-1',
      },
    ]);
    assert.ok(!(await members('cart_4_24h')).includes('p1'));
    assert.ok((await members('purchased_7d')).includes('p1'));
    const mine = seen
      .slice(before)
      .filter((c) => c.profileId === 'p1')
      .map((c) => `${c.change} ${c.audience}`);
    assert.ok(mine.includes('exit cart_4_24h') && mine.includes('enter purchased_7d'), mine.join(', '));
    assert.ok(
      seen.slice(before).every((c) => c.at === t0 + 9 * H),
      'changes are stamped with the moment they were decided',
    );
  });
});
