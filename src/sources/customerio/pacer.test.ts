import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlidingWindowPacer } from './pacer.ts';
import { prng } from '../../shared/prng.ts';

/** A virtual clock whose timers fire late by `lateMs()`, as a loaded event loop's do. */
function lateClock(lateMs: () => number) {
  let now = 0;
  return {
    clock: {
      now: () => now,
      sleep: (ms: number) => {
        now += ms + lateMs();
        return Promise.resolve();
      },
    },
    advance: (ms: number) => (now += ms),
  };
}

/** Every window of `windowMs` (from each send on) holds at most `limit` sends. */
function assertEveryWindow(sent: readonly number[], limit: number, windowMs: number): void {
  for (let i = 0; i + limit < sent.length; i++) {
    assert.ok(
      sent[i + limit]! - sent[i]! >= windowMs,
      `${limit + 1} requests within ${windowMs} ms: at ${sent.slice(i, i + limit + 1).join(', ')}`,
    );
  }
}

const scenarios: {
  name: string;
  limit: number;
  requests: number;
  late: (random: () => number) => number;
  /** Work done between a request going out and the next asking (ms). */
  work?: (i: number, random: () => number) => number;
  /** After request i, a Retry-After of this many ms. */
  retryAfter?: Record<number, number>;
}[] = [
  { name: 'timers on time', limit: 10, requests: 60, late: () => 0 },
  { name: 'timers late by up to 150 ms', limit: 10, requests: 80, late: (r) => Math.floor(r() * 150) },
  { name: 'a late request then quick ones', limit: 10, requests: 50, late: (r) => (r() < 0.2 ? 400 : 0) },
  {
    name: 'slow replies between requests',
    limit: 10,
    requests: 60,
    late: (r) => Math.floor(r() * 40),
    work: (_, r) => Math.floor(r() * 250),
  },
  {
    name: 'Retry-After pauses in the middle of a burst',
    limit: 10,
    requests: 70,
    late: (r) => Math.floor(r() * 60),
    retryAfter: { 12: 1000, 13: 300, 40: 2500 },
  },
  { name: 'a limit of 1', limit: 1, requests: 20, late: (r) => Math.floor(r() * 30) },
];

for (const s of scenarios) {
  test(`the App API pacer, ${s.name}: never more than ${s.limit} requests in any second`, async () => {
    const random = prng(7);
    const { clock, advance } = lateClock(() => s.late(random));
    const pacer = new SlidingWindowPacer(s.limit, clock);
    const sent: number[] = [];
    const pauses: { from: number; until: number }[] = [];
    for (let i = 0; i < s.requests; i++) {
      await pacer.take();
      sent.push(clock.now());
      const retryAfter = s.retryAfter?.[i];
      if (retryAfter !== undefined) {
        pacer.pause(retryAfter);
        pauses.push({ from: clock.now(), until: clock.now() + retryAfter });
      }
      advance(s.work?.(i, random) ?? 0);
    }
    assertEveryWindow(sent, s.limit, 1000);
    for (const p of pauses) {
      const inside = sent.filter((t) => t > p.from && t < p.until);
      assert.deepEqual(inside, [], `requests inside the Retry-After window ${p.from}–${p.until}`);
    }
    // It paces, it does not starve: the whole run takes about requests / limit seconds.
    const pausedMs = pauses.reduce((n, p) => n + (p.until - p.from), 0);
    const span = sent.at(-1)! - sent[0]!;
    assert.ok(
      span <= (s.requests / s.limit) * 1000 + pausedMs + s.requests * 450,
      `${s.requests} requests took ${span} ms`,
    );
  });
}

test('the pacer counts concurrent callers in one window', async () => {
  // Timers on a queue, fired in order, each 5 ms late; callers run between timers.
  let now = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const clock = {
    now: () => now,
    sleep: (ms: number) => new Promise<void>((fire) => timers.push({ at: now + ms + 5, fire })),
  };
  const pacer = new SlidingWindowPacer(3, clock);
  const sent: number[] = [];
  let finished = false;
  const callers = Promise.all(
    Array.from({ length: 12 }, async () => {
      await pacer.take();
      sent.push(clock.now());
    }),
  ).then(() => (finished = true));
  while (!finished) {
    await new Promise((resolve) => setImmediate(resolve));
    timers.sort((a, b) => a.at - b.at);
    const next = timers.shift();
    if (next) {
      now = Math.max(now, next.at);
      next.fire();
    }
  }
  await callers;
  assert.equal(sent.length, 12);
  assertEveryWindow(sent, 3, 1000);
});
