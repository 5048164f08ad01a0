import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_RETRY_POLICY, backoffMs, classifyStatus, retryAfterMs } from './retry-policy.ts';

describe('classifyStatus: one table from HTTP status to a decision', () => {
  const table: [number, string][] = [
    [200, 'ok'],
    [201, 'ok'],
    [204, 'ok'],
    [400, 'permanent'],
    [401, 'permanent'],
    [403, 'permanent'],
    [404, 'not_found'],
    [408, 'retryable'],
    [415, 'permanent'],
    [422, 'permanent'],
    [429, 'rate_limited'],
    [500, 'retryable'],
    [502, 'retryable'],
    [503, 'retryable'],
    [504, 'retryable'],
  ];
  for (const [status, kind] of table) {
    test(`${status} → ${kind}`, () => assert.equal(classifyStatus(status, undefined, 'x').kind, kind));
  }
  test('429 carries the wait, 1 s when the destination gave none', () => {
    assert.deepEqual(classifyStatus(429, 7_000, 'slow down'), {
      kind: 'rate_limited',
      retryAfterMs: 7_000,
      reason: 'slow down',
    });
    assert.deepEqual(classifyStatus(429, undefined, 'r'), {
      kind: 'rate_limited',
      retryAfterMs: 1_000,
      reason: 'r',
    });
  });
});

describe('backoff', () => {
  test('grows by the multiplier, is capped, and jitters within [ceiling/2, ceiling]', () => {
    const p = DEFAULT_RETRY_POLICY;
    assert.equal(
      backoffMs(p, 1, () => 0),
      500,
    );
    assert.equal(
      backoffMs(p, 1, () => 0.999999),
      1_000,
    );
    assert.equal(
      backoffMs(p, 4, () => 0.999999),
      8_000,
    );
    assert.equal(
      backoffMs(p, 30, () => 0.999999),
      p.maxIntervalMs,
    );
    for (let attempt = 1; attempt < 12; attempt++) {
      const ceiling = Math.min(p.maxIntervalMs, p.initialIntervalMs * 2 ** (attempt - 1));
      const d = backoffMs(p, attempt, Math.random);
      assert.ok(d >= ceiling / 2 && d <= ceiling, `${attempt}: ${d}`);
    }
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-29T12:00:00Z');
  test('seconds, an HTTP date, or the reset header', () => {
    assert.equal(retryAfterMs({ retryAfter: '3' }, now), 3_000);
    assert.equal(retryAfterMs({ retryAfter: 'Sun, 29 Nov 2026 12:00:05 GMT' }, now), 5_000);
    assert.equal(retryAfterMs({ reset: '10' }, now), 10_000);
    assert.equal(retryAfterMs({ retryAfter: '2', reset: '10' }, now), 2_000, 'Retry-After wins');
    assert.equal(retryAfterMs({}, now), undefined);
    assert.equal(retryAfterMs({ retryAfter: 'soon' }, now), undefined);
  });
});
