import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NESTING_DEPTH, nestsDeeperThan, shapeProblem } from './nesting.ts';

/** `{"a":{"a":…1…}}`, `depth` objects deep. */
const nested = (depth: number): string => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
const bytes = (text: string): Buffer => Buffer.from(text);

describe('nestsDeeperThan: the byte scan of a body', () => {
  test('counts objects and arrays, refusing one level past the limit', () => {
    assert.equal(nestsDeeperThan(bytes(nested(MAX_NESTING_DEPTH)), MAX_NESTING_DEPTH), false);
    assert.equal(nestsDeeperThan(bytes(nested(MAX_NESTING_DEPTH + 1)), MAX_NESTING_DEPTH), true);
    assert.equal(nestsDeeperThan(bytes('[[[1]],[[2]]]'), 3), false);
    assert.equal(nestsDeeperThan(bytes('[[[1]],[[[2]]]]'), 3), true);
  });
  test('brackets inside strings, escaped quotes and escaped backslashes do not count', () => {
    const text = JSON.stringify({ a: '[[[[{{{{', b: 'say "[[[["', c: 'ends in \\', d: [[1]] });
    assert.equal(nestsDeeperThan(bytes(text), 3), false);
    assert.equal(nestsDeeperThan(bytes(text), 2), true);
  });
  test('scans a million levels without recursion', () => {
    assert.equal(nestsDeeperThan(bytes('['.repeat(1_000_000) + ']'.repeat(1_000_000)), 64), true);
  });
});

describe('shapeProblem: the walk of a parsed message', () => {
  test('a message nested exactly to the limit passes; one more level is refused with its path', () => {
    assert.equal(shapeProblem(JSON.parse(nested(MAX_NESTING_DEPTH))), undefined);
    const problem = shapeProblem(JSON.parse(nested(MAX_NESTING_DEPTH + 1)));
    assert.equal(problem?.code, 'too_deeply_nested');
    assert.match(problem?.message ?? '', /more than 64 levels deep; the limit is 64/);
    assert.match(String(problem?.at), /^a\.a\.a\.a…\(58 more levels\)…a\.a$/);
  });
  test('a path names fields and array places as sent', () => {
    const deep = JSON.parse(nested(3));
    const message = { type: 'track', properties: { items: [{ sku: 'a' }, { sku: 'b', tags: deep }] } };
    const problem = shapeProblem(message, { limit: 5 });
    assert.equal(problem?.at, 'properties.items[1].tags.a', 'the first object at level 6');
  });
  test('walks 100,000 levels (JSON.parse reads any depth) without overflowing the stack', () => {
    const text = nested(100_000);
    const problem = shapeProblem(JSON.parse(text));
    assert.equal(problem?.code, 'too_deeply_nested');
    assert.throws(() => JSON.stringify(JSON.parse(text)), RangeError, 'the reason for the limit');
  });
  test('own __proto__ keys and constructor.prototype are refused; other constructor values are data', () => {
    const proto = shapeProblem(JSON.parse('{"properties":{"list":[{"__proto__":{"admin":true}}]}}'));
    assert.deepEqual([proto?.code, proto?.at], ['forbidden_key', 'properties.list[0].__proto__']);
    const ctor = shapeProblem(JSON.parse('{"traits":{"constructor":{"prototype":{"admin":true}}}}'));
    assert.deepEqual([ctor?.code, ctor?.at], ['forbidden_key', 'traits.constructor']);
    assert.equal(
      shapeProblem(JSON.parse('{"properties":{"constructor":"Lego","c":{"constructor":{}}}}')),
      undefined,
    );
    assert.equal(shapeProblem(JSON.parse('{"__proto__":1}'), { depthOnly: true }), undefined);
  });
  test('values that are not objects have no shape to refuse', () => {
    for (const value of [null, 1, 'x', true, undefined]) assert.equal(shapeProblem(value), undefined);
  });
});
