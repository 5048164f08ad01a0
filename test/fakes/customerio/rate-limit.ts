/** The App API's request budget: 10 requests/s per workspace (docs), shared by every endpoint. */
export interface RateLimitConfig {
  /** Requests per second, also the burst size. Default 10. */
  perSecond: number;
}

/** The outcome of one request against the budget. */
export interface RateDecision {
  allowed: boolean;
  /** Whole seconds (≥ 1) to wait before retrying; set only when refused. */
  retryAfterSeconds?: number;
}

// Refill arithmetic is floating point; a bucket 1e-9 short of a token has one.
const EPSILON = 1e-9;

/**
 * A token bucket: `perSecond` tokens, refilled continuously. A refused request takes no token,
 * so a client that waits Retry-After always finds room.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly config: RateLimitConfig,
    now: number,
  ) {
    if (!(config.perSecond > 0)) throw new Error('rateLimit.perSecond must be a positive number');
    this.tokens = config.perSecond;
    this.last = now;
  }

  take(now: number): RateDecision {
    const perMs = this.config.perSecond / 1000;
    this.tokens = Math.min(this.config.perSecond, this.tokens + Math.max(0, now - this.last) * perMs);
    this.last = Math.max(this.last, now);
    if (this.tokens >= 1 - EPSILON) {
      this.tokens -= 1;
      return { allowed: true };
    }
    const waitMs = (1 - this.tokens) / perMs;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}
