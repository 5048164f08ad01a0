import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../shared/clock.ts';
import type { Store } from '../store/ports.ts';
import { testStorage } from '../../test/helpers/store.ts';
import { RateLimiter } from './rate-limiter.ts';

const dir = mkdtempSync(join(tmpdir(), 'handoff-rate-'));
const opened: Store[] = [];
const drops: (() => Promise<void>)[] = [];
after(async () => {
  for (const store of opened) await store.close();
  for (const drop of drops) await drop();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
/** A fresh database, and a way to open it again as another process would. */
function database(): () => Promise<Store> {
  const storage = testStorage(dir, `rate-${++n}.db`);
  drops.push(() => storage.drop());
  return async () => {
    const store = await storage.open();
    opened.push(store);
    return store;
  };
}

const T0 = Date.UTC(2026, 0, 1);
/** A limiter of one process on `store`, on the shared virtual clock; its sleeps move the clock. */
function sender(store: Store, clock: ManualClock, ratePerSecond = 10) {
  const limiter = new RateLimiter({
    budget: store.rateBudgets,
    account: 'cordial',
    ratePerSecond,
    clock,
    maxPauseMs: 600_000,
  });
  const sent: number[] = [];
  const send = async () => {
    await limiter.acquire((ms) => Promise.resolve(clock.advance(ms)));
    sent.push(clock.now());
  };
  return { limiter, sent, send };
}

test('two processes on one database share the rate: requests one interval apart in total', async () => {
  const open = database();
  const clock = new ManualClock(T0);
  const a = sender(await open(), clock);
  const b = sender(await open(), clock);
  for (let i = 0; i < 10; i++) {
    await a.send();
    await b.send();
  }
  const all = [...a.sent, ...b.sent].sort((x, y) => x - y);
  assert.equal(all.length, 20);
  assert.equal(all[0], T0);
  for (let i = 1; i < all.length; i++) assert.ok(all[i]! - all[i - 1]! >= 100, `request ${i} came early`);
  // Ten per second in total, so twenty take at least 1.9 s.
  assert.ok(all.at(-1)! - all[0] >= 1_900);
});

test('a restarted process starts where the budget stands: no fresh burst', async () => {
  const open = database();
  const clock = new ManualClock(T0);
  const first = sender(await open(), clock);
  for (let i = 0; i < 5; i++) await first.send();
  const restarted = sender(await open(), clock);
  await restarted.send();
  assert.equal(restarted.sent[0]! - first.sent.at(-1)!, 100);
});

test('a 429 one process saw pauses the other until its Retry-After has passed', async () => {
  const open = database();
  const clock = new ManualClock(T0);
  const a = sender(await open(), clock);
  const b = sender(await open(), clock);
  await a.send();
  a.limiter.pause(T0 + 5_000);
  await a.limiter.recorded();
  await b.send();
  assert.equal(b.sent[0], T0 + 5_000);
  assert.equal(a.limiter.pausedUntilMs, T0 + 5_000);
});

test('a slowed-down process spaces its own requests further; no remaining requests waits for the reset', async () => {
  const open = database();
  const clock = new ManualClock(T0);
  const a = sender(await open(), clock, 100);
  await a.send();
  a.limiter.slowDown();
  assert.equal(a.limiter.currentRate, 50);
  await a.send();
  await a.send();
  assert.equal(a.sent[2]! - a.sent[1]!, 20);
  a.limiter.observeRemaining(0, T0 + 60_000);
  await a.send();
  assert.equal(a.sent[3], T0 + 60_000);
  a.limiter.speedUp();
  assert.equal(a.limiter.currentRate, 52);
});
