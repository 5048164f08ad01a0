import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bandOf, countInBand, inBand, nextBandEdge, nextCountChange } from './windows.ts';

const H = 3_600_000;

test('bands are half-open on age', () => {
  const within = bandOf({ within: 4 * H });
  assert.equal(inBand(0, 4 * H - 1, within), true);
  assert.equal(inBand(0, 4 * H, within), false);
  assert.equal(inBand(10, 0, within), true, 'a slightly-future event is within');

  const between = bandOf({ between: [4 * H, 24 * H] });
  assert.equal(inBand(0, 4 * H - 1, between), false);
  assert.equal(inBand(0, 4 * H, between), true);
  assert.equal(inBand(0, 24 * H - 1, between), true);
  assert.equal(inBand(0, 24 * H, between), false);

  const older = bandOf({ olderThan: 45 * 24 * H });
  assert.equal(inBand(0, 45 * 24 * H - 1, older), false);
  assert.equal(inBand(0, 45 * 24 * H, older), true);
  assert.deepEqual(bandOf({}), { from: null, to: null });
});

test('the next edge of one timestamp is the next of ts + from, ts + to still ahead', () => {
  const band = { from: 4 * H, to: 24 * H };
  assert.equal(nextBandEdge(0, 0, band), 4 * H);
  assert.equal(nextBandEdge(0, 4 * H, band), 24 * H);
  assert.equal(nextBandEdge(0, 24 * H, band), null);
  assert.equal(nextBandEdge(0, 0, { from: null, to: null }), null);
});

test('a count change is reported only when the decision flips', () => {
  const within = { from: null, to: 10 };
  const atLeastTwo = (n: number) => n >= 2;
  // Three in the window: dropping to two at 11 changes nothing; dropping to one at 13 does.
  assert.equal(countInBand([1, 3, 5], 5, within), 3);
  assert.equal(nextCountChange([1, 3, 5], 5, within, atLeastTwo), 13);
  assert.equal(
    nextCountChange([1, 3, 5], 5, within, () => true),
    null,
  );
});

test('in an age band, one entering while another leaves at the same instant is no change', () => {
  const band = { from: 5, to: 10 };
  const exactlyOne = (n: number) => n === 1;
  // At 10: ts 0 is in [5,10) until 10; ts 5 enters at 10. The count stays 1.
  assert.equal(nextCountChange([0, 5], 9, band, exactlyOne), 15);
  assert.equal(nextCountChange([0], 2, band, exactlyOne), 5);
});
