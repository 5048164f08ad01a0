import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { isHeldOut } from '../../audiences/holdout.ts';
import type { Config } from '../../config/load.ts';
import { parseConfig } from '../../config/load.ts';
import type { SimulatedChange, SimulationNotice, SimulationOptions } from './simulation.ts';
import { SETTLE_LIMIT_MS, simulate } from './simulation.ts';

// The reference audiences from the example config, without its sources: messages go in as `simulate`.
const example = parse(readFileSync(new URL('../../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: unknown[];
};
function configWith(audiences: unknown[]): Config {
  const parsed = parseConfig(stringify({ audiences }), 'simulation-test.yaml', {});
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
}
const config = configWith(example.audiences);

const H = 3_600_000;
const D = 24 * H;
const t0 = Date.parse('2026-11-28T21:10:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

async function run(
  messages: object[],
  options: Omit<SimulationOptions, 'onNotice'> = {},
  cfg = config,
): Promise<{ changes: SimulatedChange[]; notices: SimulationNotice[] }> {
  const changes: SimulatedChange[] = [];
  const notices: SimulationNotice[] = [];
  const inputs = messages.map((message, i) => ({ line: i + 1, message: message as Record<string, unknown> }));
  for await (const change of simulate(cfg, inputs, { ...options, onNotice: (n) => notices.push(n) }))
    changes.push(change);
  return { changes, notices };
}

const track = (userId: string, event: string, at: number, extra: object = {}) => ({
  type: 'track',
  userId,
  event,
  timestamp: iso(at),
  ...extra,
});
const brief = (c: SimulatedChange) => `${c.at} ${c.change} ${c.audience} (${c.cause})`;
const only = (audiences: string[], changes: SimulatedChange[]) =>
  changes.filter((c) => audiences.includes(c.audience));
const CART = ['cart_0_4h', 'cart_4_24h', 'purchased_7d'];

const cartJourney = [
  {
    type: 'identify',
    userId: 'ann',
    traits: { email: 'Ann@Example.com' },
    timestamp: iso(t0),
    messageId: 'id-1',
  },
  track('ann', 'Product Added', t0, {
    properties: { product_id: 'bundle-01', price: 49 },
    messageId: 'add-1',
  }),
  track('ann', 'Order Completed', t0 + 5 * H, { properties: { revenue: 80 }, messageId: 'order-1' }),
];

describe('simulate: a cart added at 21:10 and bought at 02:10', () => {
  test('enters at the add, moves on at exactly 4h, exits at the purchase, leaves purchased_7d at 7d', async () => {
    const { changes, notices } = await run(cartJourney, { until: t0 + 5 * H + 8 * D });
    assert.deepEqual(notices, []);
    assert.deepEqual(only(CART, changes).map(brief), [
      '2026-11-28T21:10:00.000Z enter cart_0_4h (event Product Added (add-1))',
      '2026-11-29T01:10:00.000Z exit cart_0_4h (window elapsed)',
      '2026-11-29T01:10:00.000Z enter cart_4_24h (window elapsed)',
      '2026-11-29T02:10:00.000Z exit cart_4_24h (event Order Completed (order-1))',
      '2026-11-29T02:10:00.000Z enter purchased_7d (event Order Completed (order-1))',
      '2026-12-06T02:10:00.000Z exit purchased_7d (window elapsed)',
    ]);
    assert.deepEqual(changes[0], {
      at: '2026-11-28T21:10:00.000Z',
      audience: 'cart_0_4h',
      userId: 'ann',
      email: 'ann@example.com',
      change: 'enter',
      cause: 'event Product Added (add-1)',
      heldOut: false,
    });
  });

  test('two runs print the same changes in the same order', async () => {
    const messages = [
      ...cartJourney,
      track('bob', 'Product Added', t0, { anonymousId: 'anon-bob' }),
      track('cy', 'Checkout Started', t0 + H),
      track('bob', 'Order Refunded', t0 + 2 * D),
      track('cy', 'Product Viewed', t0 + 3 * H, { properties: { product_id: 'bundle-01' } }),
      track('cy', 'Product Viewed', t0 + 4 * H, { properties: { product_id: 'bundle-01' } }),
    ];
    const first = (await run(messages)).changes.map((c) => JSON.stringify(c)).join('\n');
    const second = (await run(messages)).changes.map((c) => JSON.stringify(c)).join('\n');
    assert.ok(first.length > 0);
    assert.equal(first, second);
  });
});

describe('simulate: the virtual clock', () => {
  test('a late event is decided when it arrives, and its window still ends 4h after its own time', async () => {
    const { changes } = await run([
      track('bob', 'Product Viewed', t0 + 2 * H),
      track('ann', 'Product Added', t0, { messageId: 'late-add' }),
    ]);
    assert.deepEqual(only(['cart_0_4h'], changes).map(brief), [
      '2026-11-28T23:10:00.000Z enter cart_0_4h (event Product Added (late-add))',
      '2026-11-29T01:10:00.000Z exit cart_0_4h (window elapsed)',
    ]);
  });

  test('wake-ups due before an event fire first, at their own instant', async () => {
    const { changes } = await run([
      track('ann', 'Product Added', t0, { messageId: 'add-1' }),
      track('bob', 'Product Added', t0 + 10 * H, { messageId: 'add-2' }),
    ]);
    assert.deepEqual(
      only(['cart_0_4h'], changes).map((c) => `${c.at} ${c.userId} ${c.change}`),
      [
        '2026-11-28T21:10:00.000Z ann enter',
        '2026-11-29T01:10:00.000Z ann exit',
        '2026-11-29T07:10:00.000Z bob enter',
        '2026-11-29T11:10:00.000Z bob exit',
      ],
    );
  });

  test('until: no wake-up fires after it and later events are not ingested, with a notice', async () => {
    const { changes, notices } = await run(
      [track('ann', 'Product Added', t0), track('ann', 'Order Completed', t0 + 5 * H)],
      { until: t0 + 4 * H - 1 },
    );
    assert.deepEqual(
      changes.map((c) => `${c.at} ${c.change} ${c.audience}`),
      ['2026-11-28T21:10:00.000Z enter cart_0_4h'],
    );
    assert.deepEqual(notices, [
      {
        line: 2,
        kind: 'after_until',
        message: 'stamped 2026-11-29T02:10:00.000Z, after 2026-11-29T01:09:59.999Z',
      },
    ]);
  });

  test('without until, wake-ups settle at most 400 days after the last event', async () => {
    const lapsed = configWith([
      {
        key: 'lapsed_500d',
        name: 'Lapsed 500d',
        purpose: 'Settles later than the default cap.',
        channels: ['email'],
        ttl: 'none',
        condition: { type: 'last', event: 'Order Completed', olderThan: '500d' },
      },
    ]);
    const order = [track('ann', 'Order Completed', t0)];
    assert.equal(SETTLE_LIMIT_MS, 400 * D);
    assert.deepEqual((await run(order, {}, lapsed)).changes, []);
    const { changes } = await run(order, { until: t0 + 600 * D }, lapsed);
    assert.deepEqual(changes.map(brief), [`${iso(t0 + 500 * D)} enter lapsed_500d (window elapsed)`]);
  });

  test('top-percent audiences are re-ranked as soon as a batch moves the threshold', async () => {
    const { changes } = await run([
      track('ann', 'Order Completed', t0, { properties: { revenue: 80 }, messageId: 'order-1' }),
      track('bob', 'Order Completed', t0 + 20 * 60_000, {
        properties: { revenue: 500 },
        messageId: 'order-2',
      }),
    ]);
    // ann's order sets the first threshold, which ranks her in at once; bob's raises it past her,
    // so she leaves in the same instant bob enters, without waiting for the periodic refresh.
    assert.deepEqual(
      only(['vip_top_10pct'], changes).map((c) => `${c.at} ${c.change} ${c.userId} (${c.cause})`),
      [
        '2026-11-28T21:10:00.000Z enter ann (ranking refreshed)',
        '2026-11-28T21:30:00.000Z enter bob (event Order Completed (order-2))',
        '2026-11-28T21:30:00.000Z exit ann (ranking refreshed)',
      ],
    );
  });

  test('sentAt does not move an event: a simulation has no client clock to correct', async () => {
    const { changes } = await run([
      track('ann', 'Product Added', t0, { sentAt: iso(t0 + 3 * H), messageId: 'add-1' }),
    ]);
    assert.equal(changes[0]?.at, iso(t0));
    assert.equal(changes[1]?.at, iso(t0 + 4 * H));
  });

  test('messages with no time of their own are received with the first message that has one', async () => {
    const { changes } = await run([
      { type: 'identify', userId: 'ann', traits: { email: 'ann@example.com' } },
      track('ann', 'Product Added', t0),
    ]);
    assert.equal(changes[0]?.at, iso(t0));
    assert.equal(changes[0]?.email, 'ann@example.com');
  });
});

describe('simulate: bad input and identities', () => {
  test('a rejected or repeated message is reported with its line, and the rest still runs', async () => {
    const { changes, notices } = await run([
      track('ann', 'Product Added', t0, { messageId: 'add-1' }),
      { type: 'track', event: 'Product Added', timestamp: iso(t0) },
      track('ann', 'Product Added', t0, { messageId: 'add-1' }),
      track('bob', 'Product Added', t0 + H, { timestamp: 'yesterday' }),
      track('cy', 'Product Added', t0 + H),
    ]);
    assert.deepEqual(notices, [
      { line: 2, kind: 'rejected', message: 'every message needs a userId or an anonymousId' },
      {
        line: 3,
        kind: 'duplicate',
        message: 'messageId "add-1" was already ingested; a repeat is ignored, as Segment\'s retries are',
      },
      { line: 4, kind: 'rejected', message: 'timestamp "yesterday" is not an ISO-8601 time or epoch number' },
    ]);
    assert.deepEqual(
      only(['cart_0_4h'], changes).map((c) => `${c.userId} ${c.change}`),
      ['ann enter', 'cy enter', 'ann exit', 'cy exit'],
    );
  });

  test('a profile merged away leaves under its own identifiers, the survivor enters under its own', async () => {
    const { changes } = await run(
      [
        { type: 'identify', userId: 'ann', traits: { email: 'ann@example.com' }, timestamp: iso(t0 - H) },
        { type: 'track', anonymousId: 'a-1', event: 'Product Added', timestamp: iso(t0), messageId: 'add-1' },
        {
          type: 'identify',
          anonymousId: 'a-1',
          userId: 'ann',
          timestamp: iso(t0 + 10 * 60_000),
          messageId: 'link',
        },
      ],
      { until: t0 + H },
    );
    assert.deepEqual(
      changes.map((c) => `${c.change} ${c.audience} ${c.userId ?? '-'} ${c.anonymousId} ${c.cause}`).sort(),
      [
        'enter cart_0_4h - a-1 event Product Added (add-1)',
        'enter cart_0_4h ann a-1 event identify (link)',
        'exit cart_0_4h - a-1 merged into p1',
      ],
    );
  });

  test('held-out members are flagged, as the holdout hash of their simulated profile id says', async () => {
    const users = Array.from({ length: 30 }, (_, i) => `user-${i + 1}`);
    const { changes } = await run(users.map((u, i) => track(u, 'Product Added', t0 + i * 60_000)));
    const enters = changes.filter((c) => c.audience === 'cart_0_4h' && c.change === 'enter');
    assert.equal(enters.length, users.length);
    // Profiles are created in message order: user-k is pk.
    const expected = users.map((_, i) => isHeldOut(`p${i + 1}`, 'cart_0_4h', 10));
    assert.ok(expected.includes(true), 'at least one of 30 is in a 10% holdout');
    assert.deepEqual(
      enters.map((c) => c.heldOut),
      expected,
    );
    const heldOut = users[expected.indexOf(true)]!;
    const exit = changes.find(
      (c) => c.userId === heldOut && c.audience === 'cart_0_4h' && c.change === 'exit',
    );
    assert.equal(exit?.heldOut, true, 'the exit of a held-out member is flagged too');
  });
});

describe('merges in the change stream', () => {
  test('a merge records the merged-away exit before the survivor enters', async () => {
    const { changes } = await run([
      { type: 'identify', userId: 'ann', timestamp: iso(t0 - H) },
      { type: 'track', anonymousId: 'a-1', event: 'Product Added', timestamp: iso(t0) },
      { type: 'identify', anonymousId: 'a-1', userId: 'ann', timestamp: iso(t0 + 60_000) },
    ]);
    const atMerge = changes.filter((c) => c.at === iso(t0 + 60_000)).map((c) => c.change);
    assert.deepEqual(atMerge, ['exit', 'enter']);
  });
});
