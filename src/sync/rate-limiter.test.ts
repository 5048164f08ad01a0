import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../shared/clock.ts';
import { RateLimiter } from './rate-limiter.ts';

test('a token bucket: a burst of one second, then the rate', () => {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter(5, clock);
  for (let i = 0; i < 5; i++) assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 200, 'the sixth waits for the next token');
  clock.advance(200);
  assert.equal(limiter.take(), 0);
});

test('a pause (429) holds every request until it passes, then starts from an empty bucket', () => {
  const clock = new ManualClock(1_000);
  const limiter = new RateLimiter(100, clock);
  limiter.pause(4_000);
  assert.equal(limiter.take(), 3_000);
  clock.set(3_999);
  assert.equal(limiter.take(), 1);
  clock.set(4_000);
  assert.ok(limiter.take() > 0, 'no burst right after the wait');
  clock.set(4_010);
  assert.equal(limiter.take(), 0);
});

test('the destination’s remaining count caps what is spent; zero remaining waits for the reset', () => {
  const clock = new ManualClock(0);
  const limiter = new RateLimiter(100, clock);
  limiter.observeRemaining(2, 60_000);
  assert.equal(limiter.take(), 0);
  assert.equal(limiter.take(), 0);
  assert.ok(limiter.take() > 0);
  limiter.observeRemaining(0, 60_000);
  assert.equal(limiter.take(), 60_000);
});
