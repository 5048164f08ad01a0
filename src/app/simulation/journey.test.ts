import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isZonedTime, parseJourney } from './journey.ts';

const cart = `profile: { userId: qa-1, email: qa@example.com }
start: 2026-11-28T21:10:00Z
steps:
  - view: { product_id: bundle-01, category: Skincare }
  - add: { product_id: bundle-01, price: 49 }
  - wait: 5h
  - purchase: { revenue: 80 }
`;

const problemsOf = (text: string): string[] => {
  const parsed = parseJourney(text, 'j.yaml');
  assert.ok(!parsed.ok, 'expected the journey to be refused');
  return parsed.error.message.split('\n');
};

describe('journey files', () => {
  test('the cart journey: the identify first, then one message per step, stamped by the waits', () => {
    const parsed = parseJourney(cart, 'cart.yaml');
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
    assert.deepEqual(parsed.value, [
      {
        line: 1,
        message: {
          type: 'identify',
          messageId: 'journey-profile',
          userId: 'qa-1',
          traits: { email: 'qa@example.com' },
          timestamp: '2026-11-28T21:10:00.000Z',
        },
      },
      {
        line: 4,
        message: {
          type: 'track',
          messageId: 'journey-step-0',
          userId: 'qa-1',
          timestamp: '2026-11-28T21:10:00.000Z',
          event: 'Product Viewed',
          properties: { product_id: 'bundle-01', category: 'Skincare' },
        },
      },
      {
        line: 5,
        message: {
          type: 'track',
          messageId: 'journey-step-1',
          userId: 'qa-1',
          timestamp: '2026-11-28T21:10:00.000Z',
          event: 'Product Added',
          properties: { product_id: 'bundle-01', price: 49 },
        },
      },
      {
        line: 7,
        message: {
          type: 'track',
          messageId: 'journey-step-3',
          userId: 'qa-1',
          timestamp: '2026-11-29T02:10:00.000Z',
          event: 'Order Completed',
          properties: { order_id: 'journey-order-3', revenue: 80 },
        },
      },
    ]);
  });

  test('every step kind, as JSON; a refund without order_id refers to the last purchase', () => {
    const parsed = parseJourney(
      JSON.stringify({
        profile: { anonymousId: 'anon-9', traits: { first_name: 'Q' } },
        start: '2026-01-01T00:00:00+01:00',
        steps: [
          { checkout: null },
          { purchase: { order_id: 'o-7', revenue: 12 } },
          { wait: '1d2h' },
          { refund: {} },
          { identify: { traits: { unsubscribed: true } } },
          { track: { event: 'Coupon Applied', properties: { code: 'X' } } },
        ],
      }),
      'j.json',
    );
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.error.message);
    assert.deepEqual(
      parsed.value.map(({ message: m }) => [m.type, m.event ?? '-', m.timestamp, m.properties ?? m.traits]),
      [
        ['identify', '-', '2025-12-31T23:00:00.000Z', { first_name: 'Q' }],
        ['track', 'Checkout Started', '2025-12-31T23:00:00.000Z', {}],
        ['track', 'Order Completed', '2025-12-31T23:00:00.000Z', { order_id: 'o-7', revenue: 12 }],
        ['track', 'Order Refunded', '2026-01-02T01:00:00.000Z', { order_id: 'o-7' }],
        ['identify', '-', '2026-01-02T01:00:00.000Z', { unsubscribed: true }],
        ['track', 'Coupon Applied', '2026-01-02T01:00:00.000Z', { code: 'X' }],
      ],
    );
    assert.ok(parsed.value.every(({ message: m }) => m.anonymousId === 'anon-9' && m.userId === undefined));
  });

  test('mistakes are reported with the file, line, step and what to write instead', () => {
    assert.deepEqual(
      problemsOf(`profile: { userId: qa-1 }
start: 2026-11-28T21:10:00Z
steps:
  - add: { product_id: b }
  - wait: 5 hours
  - buy: { revenue: 1 }
  - track: { properties: {} }
  - view: 3
`),
      [
        'j.yaml:5:11: steps[1].wait: invalid duration "5 hours": write whole numbers followed by a unit (e.g. 500ms, 30s, 15m, 4h, 7d, 2w, or a compound like 1h30m)',
        'j.yaml:6:5: steps[2]: a step is one of view, add, checkout, purchase, refund, track, identify, wait, written as one key (and an optional name), e.g. "- wait: 5h" or "- add: { product_id: sku-1 }"',
        'j.yaml:7:12: steps[3].track.event: the event name, e.g. Coupon Applied',
        'j.yaml:8:11: steps[4].view: the event properties as a mapping, e.g. { product_id: sku-1, price: 49 }',
      ],
    );
  });

  test('the profile needs an id Segment messages can carry, and start a time with a zone', () => {
    assert.deepEqual(
      problemsOf('profile: { email: qa@example.com }\nstart: 2026-11-28T21:10:00\nsteps: [{ wait: 1h }]\n'),
      [
        'j.yaml:1:10: profile: give the profile a userId or an anonymousId: every Segment message carries one',
        'j.yaml:2:8: start: an ISO-8601 time with Z or an offset, e.g. 2026-11-28T21:10:00Z',
      ],
    );
    assert.match(
      problemsOf('profile: { userId: a }\nstart: 2026-11-28T21:10:00Z\nsteps: []\n')[0]!,
      /steps: list at least one step/,
    );
    assert.match(problemsOf('profile: [\n')[0]!, /^j\.yaml:\d+:\d+: /);
  });

  test('times with a zone are the same instant on every machine; local times are refused', () => {
    assert.ok(isZonedTime('2026-11-28T21:10:00Z'));
    assert.ok(isZonedTime('2026-11-28T21:10:00.250+05:30'));
    assert.ok(isZonedTime('2026-11-28'));
    assert.ok(!isZonedTime('2026-11-28T21:10:00'));
    assert.ok(!isZonedTime('2026-13-45T21:10:00Z'));
    assert.ok(!isZonedTime('next tuesday'));
  });
});
