/** Failing again after a wait: a transient failure's retry policy, as data. */
export interface RetryPolicy {
  /** The first wait (ms). Default 250. */
  initialMs: number;
  /** Each further wait is this many times the last. Default 2. */
  multiplier: number;
  /** The longest wait (ms). Default 30,000. */
  maxMs: number;
  /** Each wait is shortened by up to this fraction at random, so processes do not retry in step. Default 0.2. */
  jitter: number;
}

export const TRANSIENT_RETRY: RetryPolicy = { initialMs: 250, multiplier: 2, maxMs: 30_000, jitter: 0.2 };

/** The wait before retry number `attempt` (1 for the first). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}
