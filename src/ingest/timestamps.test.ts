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
