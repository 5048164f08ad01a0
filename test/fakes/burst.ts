import assert from 'node:assert/strict';

/**
 * Sends a burst until all of it reached the fake within `withinMs` (the time its rate limit takes
 * to refill one request: a loaded machine can spread a burst wider, and then fewer requests are
 * over the limit), starting each try with a full budget.
 */
export async function burstAtOnce<T>(
  target: { requests: readonly { at: number }[]; reset(): void },
  withinMs: number,
  send: () => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    target.reset();
    const result = await send();
    const arrivals = target.requests.map((r) => r.at);
    const spread = Math.max(...arrivals) - Math.min(...arrivals);
    if (spread < withinMs) return result;
    assert.ok(
      attempt < 5,
      `the burst never reached the fake within ${withinMs} ms (last spread ${spread} ms)`,
    );
    await new Promise((r) => setTimeout(r, 1000));
  }
}
