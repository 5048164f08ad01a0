import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventTime, parseTime } from './timestamps.ts';

const at = Date.parse('2026-11-28T21:10:00.000Z');

test('parseTime reads ISO-8601 with or without a zone (none means UTC) and epoch seconds or milliseconds', () => {
  assert.equal(parseTime('2026-11-28T21:10:00.000Z'), at);
  assert.equal(parseTime('2026-11-28T21:10:00'), at, 'no zone is UTC, whatever the server’s TZ');
  assert.equal(parseTime('2026-11-28T22:10:00+01:00'), at);
  assert.equal(parseTime(at / 1000), at);
  assert.equal(parseTime(at), at);
  for (const bad of ['', 'yesterday', -1, Number.NaN, {}, null])
    assert.equal(parseTime(bad), undefined, JSON.stringify(bad));
});

test('eventTime: timestamp, else originalTimestamp, shifted by the client clock skew', () => {
  const received = at + 60_000;
  assert.deepEqual(eventTime({ timestamp: at }, received, 86_400_000), { ok: true, value: at });
  assert.deepEqual(eventTime({ originalTimestamp: at }, received, 86_400_000), { ok: true, value: at });
  // The client clock is 5 minutes ahead: it sent at received + 5m.
  assert.deepEqual(eventTime({ timestamp: at, sentAt: received + 300_000 }, received, 86_400_000), {
    ok: true,
    value: at - 300_000,
  });
  assert.deepEqual(eventTime({}, received, 86_400_000), { ok: true, value: received });
  const future = eventTime({ timestamp: received + 2 * 86_400_000 }, received, 86_400_000);
  assert.equal(future.ok, false);
  const bad = eventTime({ timestamp: 'soon' }, received, 86_400_000);
  assert.equal(!bad.ok && bad.error.code, 'invalid_timestamp');
});

test('eventTime refuses times outside 1970..9999, naming the field, and never throws on huge numbers', () => {
  const received = at;
  const day = 86_400_000;
  for (const [times, code, message] of [
    [{ timestamp: 1.29e307 }, 'invalid_timestamp', /^timestamp 1\.29e\+307 is after 9999-12-31/],
    [{ timestamp: 1e16 }, 'invalid_timestamp', /^timestamp 10000000000000000 is after 9999/],
    [{ timestamp: 8640000000000001 }, 'invalid_timestamp', /^timestamp 8640000000000001 is after/],
    [{ originalTimestamp: '1969-12-31T23:59:59Z' }, 'invalid_timestamp', /^originalTimestamp .* before 1970/],
    [{ timestamp: at, sentAt: 1e300 }, 'invalid_timestamp', /^sentAt 1e\+300 is after 9999/],
    [{ sentAt: '+100000-01-01T00:00:00Z' }, 'invalid_timestamp', /^sentAt .* after 9999/],
    // A sentAt far ahead of the timestamp moves the event before 1970.
    [
      { timestamp: 1_000_000, sentAt: '9000-01-01T00:00:00Z' },
      'invalid_timestamp',
      /^the event time .* \(timestamp corrected by sentAt .* ahead\) is before 1970-01-01/,
    ],
    [
      { timestamp: received + 2 * day },
      'timestamp_in_future',
      /^the event time 2026-11-30T21:10:00.000Z is more than 24h ahead/,
    ],
    [
      { timestamp: received, sentAt: received - 3 * day },
      'timestamp_in_future',
      /corrected by sentAt for the client's clock, which is 3 days behind\) is more than 24h ahead/,
    ],
  ] as const) {
    const result = eventTime(times, received, day, { earliest: 0 });
    assert.equal(result.ok, false, JSON.stringify(times));
    if (result.ok) continue;
    assert.equal(result.error.code, code, JSON.stringify(times));
    assert.match(result.error.message, message);
  }
  // A client clock years ahead, consistent with itself, is corrected into range.
  const ahead = at + 3 * 365 * day;
  assert.deepEqual(eventTime({ timestamp: ahead - 60_000, sentAt: ahead }, received, day), {
    ok: true,
    value: received - 60_000,
  });
  assert.deepEqual(eventTime({ timestamp: 0 }, received, day, { earliest: 0 }), { ok: true, value: 0 });
  // Without `earliest`, only the fields are judged: a skew may move the time anywhere.
  assert.equal(eventTime({ timestamp: 1_000_000, sentAt: '9000-01-01T00:00:00Z' }, received, day).ok, true);
});
