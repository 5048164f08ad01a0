import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesEvent, propertyAt, testValue, toNumber } from './filters.ts';

test('property paths read nested objects and arrays; a literal dotted key wins', () => {
  const properties = { product: { category: 'Skincare' }, products: [{ sku: 'a' }], 'utm.source': 'mail' };
  assert.equal(propertyAt(properties, 'product.category'), 'Skincare');
  assert.equal(propertyAt(properties, 'products.0.sku'), 'a');
  assert.equal(propertyAt(properties, 'utm.source'), 'mail');
  assert.equal(propertyAt(properties, 'product.missing.deeper'), undefined);
  assert.equal(propertyAt(properties, 'toString'), undefined);
});

test('numbers and numeric strings are numbers; nothing else is', () => {
  assert.equal(toNumber(75), 75);
  assert.equal(toNumber('75.50'), 75.5);
  for (const value of ['', ' ', 'n/a', NaN, Infinity, null, undefined, true, [1]])
    assert.equal(toNumber(value), undefined);
});

test('each operator, including a missing value', () => {
  const cases: [unknown, Parameters<typeof testValue>[1], unknown, boolean][] = [
    ['Skincare', 'eq', 'Skincare', true],
    ['skincare', 'eq', 'Skincare', false],
    ['1', 'eq', 1, false],
    [undefined, 'neq', 'Skincare', true],
    ['Makeup', 'in', ['Skincare', 'Makeup'], true],
    [undefined, 'in', ['Skincare'], false],
    [80, 'gt', 75, true],
    ['80', 'gte', 80, true],
    [75, 'gt', 75, false],
    [undefined, 'lt', 75, false],
    ['n/a', 'lte', 75, false],
    ['2026-02-01', 'gt', '2026-01-15', true],
    [5, 'gt', '4', false],
    ['x', 'exists', true, true],
    [null, 'exists', true, false],
    [undefined, 'exists', false, true],
    ['Summer bundle', 'contains', 'bundle', true],
    [['a', 'b'], 'contains', 'b', true],
    [42, 'contains', '4', false],
  ];
  for (const [actual, op, expected, result] of cases) {
    assert.equal(
      testValue(actual, op, expected),
      result,
      `${JSON.stringify(actual)} ${op} ${JSON.stringify(expected)}`,
    );
  }
});

test('an event matches on name and every filter', () => {
  const matcher = {
    event: 'Product Viewed',
    where: [
      { property: 'category', op: 'eq' as const, value: 'Skincare' },
      { property: 'price', op: 'gte' as const, value: 20 },
    ],
  };
  assert.equal(
    matchesEvent(matcher, { name: 'Product Viewed', properties: { category: 'Skincare', price: 25 } }),
    true,
  );
  assert.equal(
    matchesEvent(matcher, { name: 'Product Viewed', properties: { category: 'Skincare', price: 5 } }),
    false,
  );
  assert.equal(
    matchesEvent(matcher, { name: 'Product Added', properties: { category: 'Skincare', price: 25 } }),
    false,
  );
  assert.equal(matchesEvent({ event: 'Product Added' }, { name: 'Product Added', properties: {} }), true);
});
