/** The account's request budget; Cordial publishes no numbers, so tests choose them. */
export interface RateLimitConfig {
  /** Requests per second, also the burst size. */
  perSecond: number;
  /** Optional second budget per rolling minute (refilled continuously). */
  perMinute?: number;
}

/** The outcome of one request against the budget, with the headers Cordial documents. */
export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  /** Whole seconds (≥ 1) to wait before retrying; set only when refused. */
  retryAfterSeconds?: number;
}

// Refill arithmetic is floating point; a bucket 1e-9 short of a token has one.
const EPSILON = 1e-9;

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly capacity: number,
    /** Tokens per millisecond. */
    private readonly rate: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.last = now;
  }

  refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + Math.max(0, now - this.last) * this.rate);
    this.last = Math.max(this.last, now);
  }

  available(): number {
    return this.tokens;
  }

  take(): void {
    this.tokens -= 1;
  }

  msUntilToken(): number {
    return this.tokens >= 1 - EPSILON ? 0 : (1 - this.tokens) / this.rate;
  }

  msUntilFull(): number {
    return (this.capacity - this.tokens) / this.rate;
  }
}

/**
 * Token buckets shared by the whole account (Cordial limits per second, per account). A refused
 * request takes no token, so a client that waits Retry-After always finds room.
 */
export class RateLimiter {
  private readonly buckets: TokenBucket[];

  constructor(config: RateLimitConfig, now: number) {
    if (!(config.perSecond > 0)) throw new Error('rateLimit.perSecond must be a positive number');
    this.buckets = [new TokenBucket(config.perSecond, config.perSecond / 1000, now)];
    if (config.perMinute !== undefined) {
      if (!(config.perMinute > 0)) throw new Error('rateLimit.perMinute must be a positive number');
      this.buckets.push(new TokenBucket(config.perMinute, config.perMinute / 60_000, now));
    }
  }

  take(now: number): RateDecision {
    for (const b of this.buckets) b.refill(now);
    const allowed = this.buckets.every((b) => b.available() >= 1 - EPSILON);
    if (allowed) for (const b of this.buckets) b.take();
    // Report the bucket closest to empty: that is the one a client should pace against.
    const binding = this.buckets.reduce((a, b) =>
      b.available() / b.capacity < a.available() / a.capacity ? b : a,
    );
    const headers: Record<string, string> = {
      'X-Rate-Limit-Limit': String(binding.capacity),
      'X-Rate-Limit-Remaining': String(Math.max(0, Math.floor(binding.available()))),
      'X-Rate-Limit-Reset': String(Math.ceil(binding.msUntilFull() / 1000)),
    };
    if (allowed) return { allowed, headers };
    const waitMs = Math.max(...this.buckets.map((b) => b.msUntilToken()));
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    return { allowed, headers: { ...headers, 'Retry-After': String(retryAfterSeconds) }, retryAfterSeconds };
  }
}
