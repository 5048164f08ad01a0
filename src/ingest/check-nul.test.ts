import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMessage } from './check.ts';

const check = (raw: Record<string, unknown>) =>
  checkMessage({
    raw,
    sourceId: 'web',
    context: { receivedAt: Date.UTC(2026, 0, 1), maxFutureSkewMs: 86_400_000 },
    defaults: {},
    forcedType: undefined,
    rules: {},
  });

test('a NUL character in an identifier or event name is refused, naming the field; elsewhere it is kept', () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ type: 'track', userId: 'u\u00001', event: 'Viewed' }, 'userId'],
    [{ type: 'track', anonymousId: 'a\u0000', event: 'Viewed' }, 'anonymousId'],
    [{ type: 'track', userId: 'u1', event: 'View\u0000ed' }, 'event'],
    [{ type: 'track', userId: 'u1', event: 'Viewed', messageId: '\u0000' }, 'messageId'],
    [{ type: 'page', userId: 'u1', name: 'Home\u0000' }, 'name'],
  ];
  for (const [raw, field] of cases) {
    const result = check(raw);
    assert.ok(result && 'code' in result && result.code === 'invalid_character', JSON.stringify(raw));
    assert.match(result.message, new RegExp(`^${field} contains a NUL character`));
  }
  const kept = check({ type: 'track', userId: 'u1', event: 'Viewed', properties: { note: 'a\u0000b' } });
  assert.ok(!('code' in kept) || kept.code === undefined, JSON.stringify(kept));
});
