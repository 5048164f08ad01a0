import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  DAY_MS,
  drift,
  driftCheck,
  formatMs,
  isStuck,
  matchRate,
  matchRateCheck,
  quarantineCheck,
  stuckCheck,
  trailingMean,
  worst,
} from './checks.ts';

const NOW = Date.UTC(2026, 10, 29, 12);

describe('size drift', () => {
  test('is measured against the mean of the trailing 7 days only', () => {
    const points = [
      { at: NOW - 8 * DAY_MS, value: 1000 }, // outside the window
      { at: NOW - 7 * DAY_MS, value: 100 }, // the window's first moment counts
      { at: NOW - DAY_MS, value: 200 },
      { at: NOW, value: 5000 }, // now itself is what is compared, not part of the mean
    ];
    assert.equal(trailingMean(points, NOW), 150);
    assert.equal(drift(195, 150), 0.3);
    assert.equal(driftCheck('a', 195, 150, 0.3).status, 'pass', 'exactly at the threshold passes');
    assert.equal(driftCheck('a', 196, 150, 0.3).status, 'warn');
    assert.equal(driftCheck('a', 104, 150, 0.3).status, 'warn', 'shrinking counts too');
  });

  test('without history there is no drift, and it passes', () => {
    assert.equal(trailingMean([], NOW), undefined);
    const c = driftCheck('a', 10, undefined, 0.3);
    assert.equal(c.value, undefined);
    assert.equal(c.status, 'pass');
    assert.match(c.message, /no 7-day history/);
  });

  test('an empty audience that fills drifts infinitely; one that stays empty does not', () => {
    assert.equal(drift(0, 0), 0);
    assert.equal(drift(3, 0), Infinity);
    assert.equal(driftCheck('a', 3, 0, 0.3).status, 'warn');
  });

  test('the trailing mean equals a brute-force mean of the samples in the window', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ ageMs: fc.integer({ min: -DAY_MS, max: 10 * DAY_MS }), value: fc.nat(10_000) })),
        (raw) => {
          const points = raw.map((p) => ({ at: NOW - p.ageMs, value: p.value }));
          const inWindow = raw.filter((p) => p.ageMs > 0 && p.ageMs <= 7 * DAY_MS).map((p) => p.value);
          const expected =
            inWindow.length === 0 ? undefined : inWindow.reduce((a, b) => a + b, 0) / inWindow.length;
          const actual = trailingMean(points, NOW);
          if (expected === undefined) assert.equal(actual, undefined);
          else assert.ok(Math.abs(actual! - expected) < 1e-9);
        },
      ),
    );
  });
});

describe('stuck members', () => {
  test('a member is stuck once in strictly longer than the ttl; ttl none never', () => {
    assert.equal(isStuck(NOW - DAY_MS, NOW, DAY_MS), false);
    assert.equal(isStuck(NOW - DAY_MS - 1, NOW, DAY_MS), true);
    assert.equal(isStuck(0, NOW, null), false);
  });

  test('any stuck member fails the check; ttl none passes without a value', () => {
    assert.equal(stuckCheck('a', 0, DAY_MS).status, 'pass');
    const c = stuckCheck('a', 2, DAY_MS);
    assert.equal(c.status, 'fail');
    assert.equal(c.message, '2 member(s) in longer than the ttl of 1d');
    assert.deepEqual(
      { status: stuckCheck('a', undefined, null).status, value: stuckCheck('a', undefined, null).value },
      { status: 'pass', value: undefined },
    );
  });

  test('counting with isStuck matches counting by time in audience', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 30 * DAY_MS })),
        fc.option(fc.integer({ min: 1, max: 20 * DAY_MS }), { nil: null }),
        (ages, ttl) => {
          const stuck = ages.filter((age) => isStuck(NOW - age, NOW, ttl)).length;
          const brute = ttl === null ? 0 : ages.filter((age) => age > ttl).length;
          assert.equal(stuck, brute);
        },
      ),
    );
  });
});

describe('match rate', () => {
  test('accepted ÷ members, undefined for no members, warns below the threshold', () => {
    assert.equal(matchRate(9, 10), 0.9);
    assert.equal(matchRate(0, 0), undefined);
    assert.equal(
      matchRateCheck({ audience: 'a', destination: 'cordial', accepted: 9, members: 10, warnBelow: 0.9 })
        .status,
      'pass',
    );
    const low = matchRateCheck({
      audience: 'a',
      destination: 'cordial',
      accepted: 8,
      members: 10,
      warnBelow: 0.9,
    });
    assert.equal(low.status, 'warn');
    assert.equal(low.message, '8 of 10 members held by cordial (80.0%; warn below 90.0%)');
    assert.equal(
      matchRateCheck({ audience: 'a', destination: 'cordial', accepted: 0, members: 0, warnBelow: 0.9 })
        .status,
      'pass',
    );
  });

  test('always within [0, 1]', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), (accepted, members) => {
        const r = matchRate(accepted, members);
        if (members === 0) assert.equal(r, undefined);
        else assert.ok(r! >= 0 && r! <= 1);
      }),
    );
  });
});

test('worst status wins', () => {
  assert.equal(worst([]), 'pass');
  assert.equal(worst(['pass', 'warn', 'pass']), 'warn');
  assert.equal(worst(['warn', 'fail', 'pass']), 'fail');
});

test('durations read compactly', () => {
  assert.equal(formatMs(15 * 60_000), '15m');
  assert.equal(formatMs(DAY_MS + 2 * 3_600_000), '1d2h');
  assert.equal(formatMs(500), '500ms');
});

describe('quarantineCheck', () => {
  test('passes with none; fails while any event is quarantined, saying how to see and retry them', () => {
    assert.deepEqual(quarantineCheck(0), {
      check: 'quarantined_events',
      audience: '',
      destination: '',
      value: 0,
      status: 'pass',
      message: 'no quarantined events',
    });
    const failing = quarantineCheck(3);
    assert.equal(failing.status, 'fail');
    assert.equal(failing.value, 3);
    assert.match(failing.message, /^3 event\(s\) quarantined/);
    assert.match(failing.message, /handoff events quarantine list/);
    assert.match(failing.message, /handoff events quarantine retry --all/);
  });
});
