import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPlainMessage, messageSchema } from './messages.ts';

const base = { userId: 'u1', messageId: 'm1', timestamp: '2025-01-01T00:00:00Z' };
const long = 'x'.repeat(513);

// Each case is a message as the service hands it to validation (type already set).
const cases: Record<string, unknown>[] = [
  { ...base, type: 'track', event: 'Order Completed', properties: { total: 3 } },
  { ...base, type: 'track', event: 'Order Completed', custom: [1, 2], context: { ip: '1.2.3.4' } },
  { ...base, type: 'identify', traits: { email: 'a@b.co' }, sentAt: 1735689600 },
  { ...base, type: 'page', name: null, category: 'Docs', properties: {} },
  { ...base, type: 'screen', name: 'Home' },
  { ...base, type: 'group', groupId: 'g1', traits: { plan: 'pro' } },
  { ...base, type: 'alias', previousId: 'anon-1' },
  { type: 'track', event: 'E', anonymousId: 'a1', userId: null },
  // Not plain: the schema converts or rejects these, so it must see them.
  { ...base, type: 'track', event: 'E', userId: 42 },
  { ...base, type: 'group', groupId: 7 },
  { ...base, type: 'track' },
  { ...base, type: 'track', event: '' },
  { ...base, type: 'track', event: long },
  { ...base, type: 'track', event: 'E', messageId: '' },
  { ...base, type: 'track', event: 'E', userId: long },
  { ...base, type: 'track', event: 'E', properties: [1] },
  { ...base, type: 'track', event: 'E', context: 'web' },
  { ...base, type: 'track', event: 'E', timestamp: true },
  { ...base, type: 'page', name: 5 },
  { ...base, type: 'alias' },
  { ...base, type: 'identify', traits: null },
  { ...base, type: 'unknown' },
  { ...base },
];

test('the fast check accepts only what the schema accepts, and the schema leaves it unchanged', () => {
  let plain = 0;
  for (const message of cases) {
    if (!isPlainMessage(message)) continue;
    plain++;
    const parsed = messageSchema.safeParse(message);
    assert.ok(parsed.success, `schema rejects ${JSON.stringify(message)}`);
    assert.deepEqual(parsed.data, message);
  }
  assert.equal(plain, 8, 'every valid message without conversions takes the fast path');
});
