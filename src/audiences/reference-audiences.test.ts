// Pins the reference audiences in examples/handoff.yaml at their boundaries, so a change to
// the file or the engine that moves an entry or exit by a millisecond fails here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudienceResult, EvaluationContext, Explanation } from './nodes.ts';
import type { ProfileState } from './trackers.ts';
import { compileExampleAudiences, loadExampleAudiences } from './testing/examples.ts';

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const T0 = Date.UTC(2026, 2, 1, 12);
const audiences = compileExampleAudiences();

/** One profile: events arrive (by default when they happen), traits change, membership is asked at any instant. */
class Profile {
  private state: ProfileState = audiences.emptyState();
  private lastArrival = -Infinity;
  traits: Record<string, unknown> = {};
  vipThreshold: number | undefined = undefined;

  did(
    name: string,
    timestamp: number,
    properties: Record<string, unknown> = {},
    arrivedAt = timestamp,
  ): this {
    this.lastArrival = Math.max(this.lastArrival, arrivedAt);
    this.state = audiences.applyEvent(
      this.state,
      { id: `${name}@${timestamp}`, name, timestamp, properties },
      this.lastArrival,
    );
    return this;
  }

  private get ctx(): EvaluationContext {
    return {
      trait: (name) => this.traits[name],
      topPercentThreshold: (id) => (id === 'vip_top_10pct/condition' ? this.vipThreshold : undefined),
    };
  }

  at(now: number, key: string): AudienceResult {
    const result = audiences.evaluate(this.state, this.ctx, now).audiences.get(key);
    assert.ok(result, `no audience ${key}`);
    return result;
  }

  in(now: number, key: string): boolean {
    return this.at(now, key).member;
  }

  explain(now: number, key: string): string {
    const result = audiences.explain(this.state, this.ctx, now, key);
    assert.ok(result.ok);
    const lines = (e: Explanation): string[] => [e.text, ...e.children.flatMap(lines)];
    return lines(result.value).join('\n');
  }
}

test('every reference audience is defined, in dependency order', () => {
  const keys = loadExampleAudiences().map((d) => d.key);
  assert.deepEqual([...keys].sort(), [
    'bundle_viewed_2x_no_purchase_24h',
    'cart_0_4h',
    'cart_4_24h',
    'checkout_no_purchase_24h',
    'high_aov_new_collection',
    'purchased_7d',
    'refunders_90d',
    'replenish_2x_45d',
    'skincare_layered',
    'unsubscribed',
    'vip_top_10pct',
    'winback_60_120d',
    'winback_discount_eligible',
  ]);
  assert.ok(keys.indexOf('winback_discount_eligible') > keys.indexOf('winback_60_120d'));
});

describe('cart_0_4h and cart_4_24h', () => {
  test('hand over at exactly 4h and let go at exactly 24h', () => {
    const p = new Profile().did('Product Added', T0);
    assert.deepEqual(p.at(T0, 'cart_0_4h'), { member: true, nextChangeAt: T0 + 4 * H });
    assert.equal(p.in(T0 + 4 * H - 1, 'cart_0_4h'), true);
    assert.equal(p.in(T0 + 4 * H - 1, 'cart_4_24h'), false);
    assert.equal(p.in(T0 + 4 * H, 'cart_0_4h'), false);
    assert.deepEqual(p.at(T0 + 4 * H, 'cart_4_24h'), { member: true, nextChangeAt: T0 + 24 * H });
    assert.equal(p.in(T0 + 24 * H - 1, 'cart_4_24h'), true);
    assert.equal(p.in(T0 + 24 * H, 'cart_4_24h'), false);
  });

  test('a purchase exits both, and a new cart starts over', () => {
    const p = new Profile().did('Product Added', T0).did('Order Completed', T0 + H);
    assert.equal(p.in(T0 + H, 'cart_0_4h'), false);
    assert.equal(p.in(T0 + 5 * H, 'cart_4_24h'), false);
    p.did('Product Added', T0 + 2 * H);
    assert.equal(p.in(T0 + 2 * H, 'cart_0_4h'), true);
    assert.equal(p.in(T0 + 6 * H, 'cart_4_24h'), true);
  });

  test('a purchase in the same millisecond as the cart counts as since it', () => {
    const p = new Profile().did('Product Added', T0).did('Order Completed', T0);
    assert.equal(p.in(T0, 'cart_0_4h'), false);
  });

  test('a late, older purchase does not exit a newer cart', () => {
    const p = new Profile().did('Product Added', T0).did('Order Completed', T0 - H, {}, T0 + H);
    assert.equal(p.in(T0 + H, 'cart_0_4h'), true);
    assert.equal(p.in(T0 + 4 * H, 'cart_4_24h'), true);
  });

  test('a late, older cart does not move the window of a newer one', () => {
    const p = new Profile().did('Product Added', T0).did('Product Added', T0 - 3 * H, {}, T0 + H);
    assert.equal(p.in(T0 + 4 * H - 1, 'cart_0_4h'), true);
    assert.equal(p.in(T0 + 4 * H, 'cart_4_24h'), true);
  });

  test('explain reads like the definition', () => {
    const p = new Profile().did('Product Added', T0);
    assert.equal(
      p.explain(T0 + H, 'cart_0_4h'),
      [
        'CI | Cart | 0-4h | No Purchase (cart_0_4h): yes',
        'all of: yes',
        'Product Added within 4h: yes (last at 2026-03-01T12:00:00Z, leaves at 2026-03-01T16:00:00Z)',
        'no Order Completed since last Product Added: yes (would end on Order Completed)',
      ].join('\n'),
    );
  });
});

test('checkout_no_purchase_24h: the last checkout within 24h, exits on purchase', () => {
  const p = new Profile().did('Checkout Started', T0);
  assert.equal(p.in(T0 + 24 * H - 1, 'checkout_no_purchase_24h'), true);
  assert.equal(p.in(T0 + 24 * H, 'checkout_no_purchase_24h'), false);
  p.did('Checkout Started', T0 + 20 * H);
  assert.deepEqual(p.at(T0 + 24 * H, 'checkout_no_purchase_24h'), {
    member: true,
    nextChangeAt: T0 + 44 * H,
  });
  p.did('Order Completed', T0 + 21 * H);
  assert.equal(p.in(T0 + 21 * H, 'checkout_no_purchase_24h'), false);
});

test('purchased_7d: in for exactly 7 days after the latest order', () => {
  const p = new Profile().did('Order Completed', T0);
  assert.equal(p.in(T0 + 7 * D - 1, 'purchased_7d'), true);
  assert.equal(p.in(T0 + 7 * D, 'purchased_7d'), false);
  p.did('Order Completed', T0 - D, {}, T0 + 8 * D);
  assert.equal(p.in(T0 + 8 * D, 'purchased_7d'), false, 'an old order arriving late does not re-enter');
});

test('winback_60_120d: enters at exactly 60d after the last order, leaves at 120d or on a new order', () => {
  const p = new Profile().did('Order Completed', T0);
  assert.deepEqual(p.at(T0, 'winback_60_120d'), { member: false, nextChangeAt: T0 + 60 * D });
  assert.equal(p.in(T0 + 60 * D - 1, 'winback_60_120d'), false);
  assert.deepEqual(p.at(T0 + 60 * D, 'winback_60_120d'), { member: true, nextChangeAt: T0 + 120 * D });
  assert.equal(p.in(T0 + 120 * D, 'winback_60_120d'), false);
  p.did('Order Completed', T0 + 70 * D);
  assert.equal(p.in(T0 + 70 * D, 'winback_60_120d'), false);
});

test('replenish_2x_45d: two orders ever, the last at least 45d ago; the next order exits', () => {
  const p = new Profile().did('Order Completed', T0);
  assert.equal(p.in(T0 + 50 * D, 'replenish_2x_45d'), false, 'one order is not a repeat buyer');
  p.did('Order Completed', T0 + 10 * D, {}, T0 + 50 * D);
  assert.equal(p.in(T0 + 55 * D - 1, 'replenish_2x_45d'), false);
  assert.deepEqual(p.at(T0 + 55 * D, 'replenish_2x_45d'), { member: true, nextChangeAt: null });
  p.did('Order Completed', T0 + 60 * D);
  assert.equal(p.in(T0 + 60 * D, 'replenish_2x_45d'), false);
});

test('vip_top_10pct: lifetime revenue at or above the injected threshold', () => {
  const p = new Profile().did('Order Completed', T0, { revenue: 150 });
  assert.equal(audiences.scoreFor(audiences.emptyState(), 'vip_top_10pct/condition'), undefined);
  assert.equal(p.in(T0, 'vip_top_10pct'), false, 'no threshold yet');
  p.vipThreshold = 200;
  assert.equal(p.in(T0, 'vip_top_10pct'), false);
  p.did('Order Completed', T0 + D, { revenue: 50 });
  assert.equal(p.in(T0 + D, 'vip_top_10pct'), true);
  assert.equal(p.in(T0 + 1000 * D, 'vip_top_10pct'), true, 'lifetime: time alone does not change it');
});

test('high_aov_new_collection: average order ≥ 75 and viewed the new collection within 7d', () => {
  const p = new Profile()
    .did('Order Completed', T0 - 30 * D, { revenue: 100 })
    .did('Order Completed', T0 - 20 * D, { revenue: 60 })
    .did('Product Viewed', T0 - D, { collection: 'old' });
  assert.equal(p.in(T0, 'high_aov_new_collection'), false);
  p.did('Product Viewed', T0, { collection: 'new' });
  assert.deepEqual(p.at(T0, 'high_aov_new_collection'), { member: true, nextChangeAt: T0 + 7 * D });
  assert.equal(p.in(T0 + 7 * D, 'high_aov_new_collection'), false);
  p.did('Product Viewed', T0 + 8 * D, { collection: 'new' }).did('Order Completed', T0 + 8 * D, {
    revenue: 40,
  });
  assert.equal(p.in(T0 + 8 * D, 'high_aov_new_collection'), false, 'average fell to 66.67');
});

test('skincare_layered: two skincare views in 30d, a cart in 7d, average order ≥ 75', () => {
  const p = new Profile()
    .did('Order Completed', T0 - 40 * D, { revenue: 90 })
    .did('Product Viewed', T0 - 29 * D, { category: 'Skincare' })
    .did('Product Viewed', T0 - 2 * D, { category: 'Makeup' })
    .did('Product Added', T0 - D);
  assert.equal(p.in(T0, 'skincare_layered'), false, 'one skincare view');
  p.did('Product Viewed', T0, { category: 'Skincare' });
  assert.deepEqual(p.at(T0, 'skincare_layered'), { member: true, nextChangeAt: T0 + D });
  assert.equal(p.in(T0 + D - 1, 'skincare_layered'), true);
  assert.equal(p.in(T0 + D, 'skincare_layered'), false, 'the first skincare view is 30 days old');
});

test('bundle_viewed_2x_no_purchase_24h: two bundle views in 7d and no order in the last 24h', () => {
  const p = new Profile()
    .did('Order Completed', T0)
    .did('Product Viewed', T0 + H, { product_id: 'bundle-01' })
    .did('Product Viewed', T0 + 2 * H, { product_id: 'sku-9' });
  assert.equal(p.in(T0 + 2 * H, 'bundle_viewed_2x_no_purchase_24h'), false);
  p.did('Product Viewed', T0 + 3 * H, { product_id: 'bundle-01' });
  assert.deepEqual(p.at(T0 + 3 * H, 'bundle_viewed_2x_no_purchase_24h'), {
    member: false,
    nextChangeAt: T0 + 24 * H,
  });
  assert.equal(p.in(T0 + 24 * H, 'bundle_viewed_2x_no_purchase_24h'), true);
  assert.equal(p.in(T0 + H + 7 * D - 1, 'bundle_viewed_2x_no_purchase_24h'), true);
  assert.equal(p.in(T0 + H + 7 * D, 'bundle_viewed_2x_no_purchase_24h'), false);
});

test('refunders_90d and unsubscribed', () => {
  const p = new Profile().did('Order Refunded', T0);
  assert.equal(p.in(T0 + 90 * D - 1, 'refunders_90d'), true);
  assert.equal(p.in(T0 + 90 * D, 'refunders_90d'), false);
  assert.equal(p.in(T0, 'unsubscribed'), false);
  p.traits.unsubscribed = true;
  assert.deepEqual(p.at(T0, 'unsubscribed'), { member: true, nextChangeAt: null });
  p.traits.unsubscribed = 'true';
  assert.equal(p.in(T0, 'unsubscribed'), false, 'only the boolean true');
});

test('winback_discount_eligible: winback, but never VIPs, refunders or the unsubscribed', () => {
  const p = new Profile().did('Order Completed', T0, { revenue: 80 });
  p.vipThreshold = 500;
  assert.deepEqual(p.at(T0, 'winback_discount_eligible'), { member: false, nextChangeAt: T0 + 60 * D });
  assert.deepEqual(p.at(T0 + 60 * D, 'winback_discount_eligible'), {
    member: true,
    nextChangeAt: T0 + 120 * D,
  });
  p.traits.unsubscribed = true;
  assert.equal(p.in(T0 + 60 * D, 'winback_discount_eligible'), false);
  p.traits.unsubscribed = false;
  p.vipThreshold = 80;
  assert.equal(p.in(T0 + 60 * D, 'winback_discount_eligible'), false, 'VIP');
  p.vipThreshold = 500;
  p.did('Order Refunded', T0 + 61 * D);
  assert.equal(p.in(T0 + 61 * D, 'winback_discount_eligible'), false, 'refunded');
  assert.equal(p.in(T0 + 120 * D, 'winback_discount_eligible'), false);
});

test('a Product Added only wakes the audiences that read it', () => {
  assert.deepEqual(audiences.relevantAudiences('Product Added'), [
    'cart_0_4h',
    'cart_4_24h',
    'skincare_layered',
  ]);
  assert.deepEqual(audiences.relevantAudiences('Order Refunded'), [
    'refunders_90d',
    'winback_discount_eligible',
  ]);
});
