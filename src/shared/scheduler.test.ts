import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Scheduler } from './scheduler.ts';
import { systemClock } from './clock.ts';

/** A scheduler on the real clock whose looks answer `next()` after `lookMs`; records looks and runs. */
function scheduler(next: () => number | null, lookMs = 0) {
  const seen = { looks: 0, runs: [] as number[] };
  const s = new Scheduler({
    nextWakeAt: async () => {
      seen.looks++;
      if (lookMs > 0) await sleep(lookMs);
      return next();
    },
    runDue: () => {
      seen.runs.push(Date.now());
      return Promise.resolve(0);
    },
    clock: systemClock,
    onError: (error) => assert.fail(String(error)),
    maxDelayMs: 10_000,
  });
  return { s, seen };
}

/** Waits until `done` holds; fails after 5 s (the cap is 10 s, so a missed wake-up fails here). */
async function until(done: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 5_000; !done(); await sleep(5))
    if (Date.now() > end) assert.fail(`timed out waiting until ${what}`);
}

test('scheduler: a wake-up committed after the last look fires on time, without another look', async () => {
  const { s, seen } = scheduler(() => null);
  s.start();
  await until(() => seen.looks === 1, 'the first look');
  await sleep(20);
  const at = Date.now() + 50;
  s.wakeBy(at);
  await until(() => seen.runs.length === 1, 'the wake-up ran');
  assert.ok(seen.runs[0]! >= at - 2, 'it did not run early');
  // Looked once at start, and once more only after the run.
  assert.equal(seen.looks, 2);
  await s.stop();
});

test('scheduler: a wake-up said while a look is in flight is kept when the look answers nothing later', async () => {
  // The look read the store before the wake-up was committed: it answers "none" after 30 ms.
  const { s, seen } = scheduler(() => null, 30);
  s.start();
  const at = Date.now() + 80;
  s.wakeBy(at);
  await until(() => seen.runs.length === 1, 'the wake-up ran');
  assert.ok(seen.runs[0]! >= at - 2, 'it did not run early');
  await s.stop();
});

test('scheduler: a wake-up later than the one armed leaves the timer where it is', async () => {
  const first = Date.now() + 60;
  let looks = 0;
  const { s, seen } = scheduler(() => (looks++ === 0 ? first : null));
  s.start();
  await until(() => seen.looks === 1, 'the first look');
  await sleep(10);
  s.wakeBy(Date.now() + 60_000);
  await until(() => seen.runs.length === 1, 'the earlier wake-up ran');
  assert.ok(seen.runs[0]! >= first - 2);
  await s.stop();
});

test('scheduler: after stop, a wake-up said sets nothing', async () => {
  const { s, seen } = scheduler(() => null);
  s.start();
  await until(() => seen.looks === 1, 'the first look');
  await s.stop();
  s.wakeBy(Date.now());
  await sleep(50);
  assert.deepEqual(seen.runs, []);
});
