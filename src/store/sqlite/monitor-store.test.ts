import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createApp } from '../../app/app.ts';
import { parseConfig } from '../../config/load.ts';
import { ManualClock } from '../../shared/clock.ts';

const parsed = parseConfig(
  `
storage: { sqlite: { path: ":memory:" } }
sources: [{ id: web, writeKey: { env: WEB } }]
audiences:
  - key: viewers
    name: CI | View | 1d
    purpose: test
    channels: [email]
    ttl: 2h
    condition: { type: event, event: Product Viewed, within: 1d }
`,
  'test.yaml',
  { WEB: 'k' },
);
if (!parsed.ok) throw new Error(parsed.error.message);
const config = parsed.value;

test('conversions count only purchases after entering; stuck and wake-up counts follow the clock', async () => {
  const clock = new ManualClock(Date.parse('2026-11-29T00:00:00Z'));
  const app = createApp({ config, clock });
  const at = () => new Date(clock.now()).toISOString();
  const send = async (...messages: object[]) => {
    await app.ingest.ingest(
      'web',
      messages.map((m) => ({ timestamp: at(), ...m })),
    );
    await app.settle();
  };
  // early bought before ever viewing, late after; never did not buy.
  await send({ type: 'track', userId: 'early', event: 'Order Completed' });
  clock.advance(60_000);
  await send(
    ...['early', 'late', 'never'].map((userId) => ({ type: 'track', userId, event: 'Product Viewed' })),
  );
  const since = clock.now() - 1;
  clock.advance(60_000);
  await send({ type: 'track', userId: 'late', event: 'Order Completed' });

  const m = app.store.monitor;
  assert.deepEqual(await m.conversions('Order Completed', since - 3_600_000), [
    { audience: 'viewers', treated: 3, treatedConverted: 1, heldOut: 0, heldOutConverted: 0 },
  ]);
  assert.deepEqual(await m.conversions('Order Completed', clock.now()), [], 'nobody entered since');
  assert.deepEqual(await m.audienceCounts(), [{ audience: 'viewers', members: 3, heldOut: 0 }]);

  const entered = since + 1;
  assert.deepEqual(await m.overstayed(new Map([['viewers', entered]])), new Map([['viewers', 0]]));
  assert.deepEqual(await m.overstayed(new Map([['viewers', entered + 1]])), new Map([['viewers', 3]]));
  // Each member wakes when their 1d window closes.
  assert.deepEqual(await m.wakeups(clock.now()), { pending: 3, overdue: 0 });
  assert.deepEqual(await m.wakeups(entered + 86_400_000), { pending: 3, overdue: 3 });
  assert.deepEqual(await m.changeCounts(0, clock.now() + 1), [{ audience: 'viewers', enters: 3, exits: 0 }]);
  assert.deepEqual(await m.changeCounts(0, entered), []);
  await app.stop();
});
