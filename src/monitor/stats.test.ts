import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Z95, difference, wilson } from './stats.ts';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

test('Wilson interval: known values', () => {
  // 8 of 10 at 95%: [0.4902, 0.9433] (Newcombe 1998, Table I).
  const p = wilson(8, 10)!;
  close(p.low, 0.4902, 1e-4);
  close(p.high, 0.9433, 1e-4);
  // 0 of 10: the lower bound is exactly 0, the upper 0.2775.
  const zero = wilson(0, 10)!;
  assert.equal(zero.low, 0);
  close(zero.high, 0.2775, 1e-4);
  assert.equal(wilson(0, 0), undefined);
  assert.throws(() => wilson(3, 2), RangeError);
});

test('Wilson bounds are the roots of the score test: brute-force search agrees', () => {
  // The Wilson interval is every π with |p̂ − π| ≤ z·sqrt(π(1−π)/n); find its ends by bisection.
  const bisect = (inside: (x: number) => boolean, lo: number, hi: number) => {
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (inside(mid)) hi = mid;
      else lo = mid;
    }
    return hi;
  };
  fc.assert(
    fc.property(
      fc
        .integer({ min: 1, max: 5000 })
        .chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n }))),
      ([n, k]) => {
        const p = k / n;
        const inside = (x: number) => Math.abs(p - x) <= Z95 * Math.sqrt((x * (1 - x)) / n) + 1e-15;
        const w = wilson(k, n)!;
        const low = k === 0 ? 0 : bisect(inside, 0, p);
        const high = k === n ? 1 : 1 - bisect((x) => inside(1 - x), 0, 1 - p);
        close(w.low, low, 1e-7);
        close(w.high, high, 1e-7);
        assert.ok(w.low <= p && p <= w.high);
      },
    ),
  );
});

test('difference interval: Newcombe method 10 worked example and its containment of the estimate', () => {
  // Newcombe 1998, Table II example (a): 56/70 vs 48/80 → 0.2000, [0.0524, 0.3339].
  const d = difference(wilson(56, 70), wilson(48, 80))!;
  close(d.estimate, 0.2, 1e-12);
  close(d.low, 0.0524, 1e-4);
  close(d.high, 0.3339, 1e-4);
  assert.equal(difference(wilson(1, 2), undefined), undefined);
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 500 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (n1, n2, f1, f2) => {
        const r = difference(wilson(Math.round(f1 * n1), n1), wilson(Math.round(f2 * n2), n2))!;
        assert.ok(r.low <= r.estimate + 1e-12 && r.estimate <= r.high + 1e-12);
        assert.ok(r.low >= -1 - 1e-12 && r.high <= 1 + 1e-12);
      },
    ),
  );
});
