import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

test('parses each unit to milliseconds', () => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['15m', 15 * MINUTE],
    ['4h', 4 * HOUR],
    ['7d', 7 * DAY],
    ['2w', 14 * DAY],
    ['0s', 0],
    [' 4h ', 4 * HOUR],
  ];
  for (const [text, ms] of cases) assert.deepEqual(parseDuration(text), { ok: true, value: ms }, text);
});

test('parses compound durations written largest unit first', () => {
  assert.deepEqual(parseDuration('1h30m'), { ok: true, value: 90 * MINUTE });
  assert.deepEqual(parseDuration('1d12h'), { ok: true, value: 36 * HOUR });
  assert.deepEqual(parseDuration('1s500ms'), { ok: true, value: 1500 });
});

test('rejects anything ambiguous with a message that says how to write it', () => {
  for (const text of [
    '',
    '4',
    'h',
    '4 hours',
    '1.5h',
    '-4h',
    '30m1h',
    '1h1h',
    '4H',
    '4hx',
    '9999999999999999w',
  ]) {
    const result = parseDuration(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) {
      assert.equal(result.error.code, 'invalid_duration');
      assert.match(result.error.message, /e\.g\. 500ms, 30s, 15m, 4h, 7d, 2w/);
      assert.ok(result.error.message.includes(`"${text}"`));
    }
  }
});

test('formats back to the shortest compound, stopping at days', () => {
  assert.equal(formatDuration(90 * MINUTE), '1h30m');
  assert.equal(formatDuration(4 * HOUR), '4h');
  assert.equal(formatDuration(60 * DAY), '60d');
  assert.equal(formatDuration(14 * DAY), '14d');
  assert.equal(formatDuration(1500), '1s500ms');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(-30_000), '-30s');
});

test('format then parse is the identity', () => {
  for (const ms of [1, 999, 61_000, 4 * HOUR + 1, 120 * DAY, 3 * DAY + 5 * MINUTE + 7]) {
    assert.deepEqual(parseDuration(formatDuration(ms)), { ok: true, value: ms });
  }
});
