import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDefinition } from './describe.ts';
import { neighbours } from './graph.ts';
import { audienceSchema } from './schema.ts';

const audience = (key: string, condition: unknown) =>
  audienceSchema.parse({ key, name: key, purpose: 'test', channels: ['email'], ttl: '1d', condition });

describe('a definition read aloud', () => {
  test('is one line per node, indented under all/any/not, in the words explanations use', () => {
    const cart = audience('cart', {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { not: { type: 'event', event: 'Order Completed', within: '4h' } },
        { type: 'in_audience', audience: 'subscribers' },
      ],
    });
    assert.deepEqual(
      describeDefinition(cart.condition!).map((l) => `${'  '.repeat(l.depth)}${l.text}`),
      [
        'all of',
        '  Product Added within 4h',
        '  not',
        '    Order Completed within 4h',
        '  in audience subscribers',
      ],
    );
  });

  test('neighbours are the audiences referred to and those referring, directly', () => {
    const definitions = [
      audience('subscribers', { type: 'trait', trait: 'subscribed', op: 'eq', value: true }),
      audience('cart', {
        all: [
          { type: 'event', event: 'Product Added' },
          { type: 'in_audience', audience: 'subscribers' },
        ],
      }),
      audience('cart_vip', {
        all: [
          { type: 'in_audience', audience: 'cart' },
          { type: 'trait', trait: 'vip', op: 'eq', value: true },
        ],
      }),
    ];
    assert.deepEqual(neighbours(definitions, 'cart'), {
      dependencies: ['subscribers'],
      dependents: ['cart_vip'],
    });
    assert.deepEqual(neighbours(definitions, 'subscribers'), { dependencies: [], dependents: ['cart'] });
    assert.deepEqual(neighbours(definitions, 'nope'), { dependencies: [], dependents: [] });
  });
});
