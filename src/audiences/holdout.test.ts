import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holdoutBucket, isHeldOut } from './holdout.ts';

test('the same profile and audience always get the same answer', () => {
  assert.equal(holdoutBucket('profile-1', 'cart_0_4h'), holdoutBucket('profile-1', 'cart_0_4h'));
  // Pinned so a change of hash (which would reshuffle every live control group) fails loudly.
  assert.equal(holdoutBucket('profile-1', 'cart_0_4h').toFixed(6), '27.998320');
  assert.equal(isHeldOut('profile-1', 'cart_0_4h', 10), isHeldOut('profile-1', 'cart_0_4h', 10));
});

test('0% holds out nobody and 100% holds out everybody', () => {
  for (let i = 0; i < 200; i++) {
    assert.equal(isHeldOut(`p${i}`, 'a', 0), false);
    assert.equal(isHeldOut(`p${i}`, 'a', 100), true);
  }
});

test('holds out close to the requested share, independently per audience', () => {
  const n = 20_000;
  let inA = 0;
  let inBoth = 0;
  for (let i = 0; i < n; i++) {
    const a = isHeldOut(`profile-${i}`, 'cart_0_4h', 10);
    const b = isHeldOut(`profile-${i}`, 'winback_60_120d', 10);
    if (a) inA++;
    if (a && b) inBoth++;
  }
  assert.ok(Math.abs(inA / n - 0.1) < 0.01, `share ${inA / n}`);
  assert.ok(Math.abs(inBoth / n - 0.01) < 0.005, `overlap ${inBoth / n}`);
});

test('a larger percentage keeps everyone a smaller one held out', () => {
  for (let i = 0; i < 500; i++) {
    if (isHeldOut(`p${i}`, 'a', 5)) assert.equal(isHeldOut(`p${i}`, 'a', 20), true);
  }
});
