/**
 * How failed sends are retried, as data. Exponential backoff with full jitter, capped; a
 * rate-limit wait (`Retry-After`) is honoured without burning an attempt, under its own cap.
 */
export interface RetryPolicy {
  /** First retry after about this long (ms). Default 1,000. */
  initialIntervalMs: number;
  /** Each retry waits this many times longer. Default 2. */
  multiplier: number;
  /** No wait is longer than this (ms). Default 300,000 (5 minutes). */
  maxIntervalMs: number;
  /** After this many failed attempts the item is dead-lettered. Default 8. */
  maxAttempts: number;
  /** The longest `Retry-After` honoured as given (ms); longer values are clamped. Default 600,000. */
  maxRateLimitWaitMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialIntervalMs: 1_000,
  multiplier: 2,
  maxIntervalMs: 300_000,
  maxAttempts: 8,
  maxRateLimitWaitMs: 600_000,
};

/** What a destination's answer means for the items in a request. Classified once, at the edge. */
export type SendOutcome =
  | { kind: 'ok' }
  | { kind: 'not_found' }
  | { kind: 'retryable'; reason: string }
  | { kind: 'rate_limited'; retryAfterMs: number; reason: string }
  | { kind: 'permanent'; status: number; errorKey?: string; reason: string };

/** The standard mapping from an HTTP status: 2xx ok, 404 not found, 429 rate limited, 408/5xx retried, other 4xx permanent. */
export function classifyStatus(
  status: number,
  retryAfterMs: number | undefined,
  reason: string,
): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 404) return { kind: 'not_found' };
  if (status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfterMs ?? 1_000, reason };
  if (status === 408 || status >= 500) return { kind: 'retryable', reason };
  return { kind: 'permanent', status, reason };
}

/** The delay before retry number `attempt` (1-based), with full jitter drawn from `random` ∈ [0, 1). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(
    policy.maxIntervalMs,
    policy.initialIntervalMs * policy.multiplier ** (attempt - 1),
  );
  // Full jitter spreads retries of many contacts so they do not return in a wave; never below 1/2.
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Parses `Retry-After` (seconds or an HTTP date) or `X-Rate-Limit-Reset` (seconds) into ms from `now`. */
export function retryAfterMs(
  headers: { retryAfter?: string | null; reset?: string | null },
  now: number,
): number | undefined {
  const seconds = (v: string | null | undefined) =>
    v && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) * 1000 : undefined;
  const fromRetry = seconds(headers.retryAfter);
  if (fromRetry !== undefined) return fromRetry;
  if (headers.retryAfter) {
    const date = Date.parse(headers.retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return seconds(headers.reset);
}
