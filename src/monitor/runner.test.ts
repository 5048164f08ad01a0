import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseConfig } from '../config/load.ts';
import { ManualClock } from '../shared/clock.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { CheckRunner } from './runner.ts';

const config = (interval: string) => {
  const parsed = parseConfig(
    `
monitoring: { checkInterval: ${interval}, retention: 1h }
audiences:
  - key: viewers
    name: CI | View | 1d
    purpose: test
    channels: [email]
    ttl: 1d
    condition: { type: event, event: Product Viewed, within: 1d }
`,
    'test.yaml',
    {},
  );
  if (!parsed.ok) throw new Error(parsed.error.message);
  return parsed.value;
};

test('the runner samples on its interval, stops cleanly, and drops samples past retention', async () => {
  const store = createSqliteStore(':memory:');
  const clock = new ManualClock(Date.parse('2026-11-29T00:00:00Z'));
  const errors: unknown[] = [];
  const runner = new CheckRunner({
    store,
    settings: config('20ms'),
    clock,
    onError: (e) => errors.push(e),
  });
  // A sample from two hours ago is past the 1h retention.
  await store.monitor.record([
    { check: 'size', audience: 'viewers', destination: '', at: clock.now() - 2 * 3_600_000, value: 5 },
  ]);
  runner.start();
  for (let i = 0; i < 50 && (await store.monitor.series('size', 'viewers', '', 0)).length < 3; i++) {
    clock.advance(1000);
    await sleep(20);
  }
  await runner.stop();
  const samples = await store.monitor.series('size', 'viewers', '', 0);
  assert.ok(samples.length >= 3, `${samples.length} samples`);
  assert.ok(
    samples.every((s) => s.value === 0 && s.at > clock.now() - 3_600_000),
    'the old sample was pruned',
  );
  assert.equal(runner.latest?.audiences[0]?.audience, 'viewers');
  clock.advance(1000);
  await sleep(60);
  assert.equal((await store.monitor.series('size', 'viewers', '', 0)).length, samples.length, 'stopped');
  assert.deepEqual(errors, []);
  await store.close();
});
