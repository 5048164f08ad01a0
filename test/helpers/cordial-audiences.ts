// The D2C hand-off most sync tests exercise: cart abandoners in one Cordial list, 7-day
// purchasers in a suppression list.
export const CART_AND_PURCHASERS = [
  {
    key: 'cart_0_4h',
    name: 'CI | Cart | 0-4h | No Purchase',
    purpose: 'cart reminder',
    channels: ['email'],
    ttl: '4h',
    condition: {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
      ],
    },
    destinations: [{ cordial: { list: 'cart-0-4h', identifier: 'email' } }],
  },
  {
    key: 'purchased_7d',
    name: 'SUP | Purchased | 7d',
    purpose: 'suppress recent buyers',
    channels: ['paid_social'],
    ttl: '7d',
    priority: 100,
    condition: { type: 'event', event: 'Order Completed', within: '7d' },
    destinations: [{ cordial: { list: 'purchased-7d', identifier: 'email' } }],
  },
];

/** Anyone who added to cart in the last 4h, in Cordial list `list`: the smallest synced audience. */
export const cartAudience = (list: string) => ({
  key: 'cart_0_4h',
  name: 'Cart 0-4h',
  purpose: 'cart reminder',
  channels: ['email'],
  ttl: '4h',
  condition: { type: 'event', event: 'Product Added', within: '4h' },
  destinations: [{ cordial: { list, identifier: 'email' } }],
});
