import type { Clock } from '../shared/clock.ts';

/**
 * One token bucket per destination account, shared by every audience. A 429 pauses the whole
 * account until its `Retry-After` has passed: nothing is sent inside the wait.
 */
export class RateLimiter {
  private tokens: number;
  private refilledAt: number;
  private pausedUntil = 0;
  /** The rate in force: the configured one, halved on each 429 and regained on success (AIMD). */
  private rate: number;

  constructor(
    /** Requests per second the account allows. */
    private readonly ratePerSecond: number,
    private readonly clock: Clock,
    /** Largest burst; default one second's worth. */
    private readonly burst = Math.max(1, ratePerSecond),
  ) {
    this.rate = ratePerSecond;
    this.tokens = this.burst;
    this.refilledAt = clock.now();
  }

  /** A request was refused for rate: send at half the pace from now on (never below 1 per 10 s). */
  slowDown(): void {
    this.rate = Math.max(0.1, this.rate / 2);
  }

  /** A request went through: regain pace gradually, up to the configured rate. */
  speedUp(): void {
    this.rate = Math.min(this.ratePerSecond, this.rate + this.ratePerSecond / 50);
  }

  get currentRate(): number {
    return this.rate;
  }

  /** Waits (with `sleep`) until a request may be sent, and takes its token. */
  async acquire(sleep: (ms: number) => Promise<void>): Promise<void> {
    for (let wait = this.take(); wait > 0; wait = this.take()) await sleep(wait);
  }

  /** Milliseconds until a request may be sent (0: now, and a token is taken). */
  take(): number {
    const now = this.clock.now();
    if (now < this.pausedUntil) return this.pausedUntil - now;
    const burst = Math.max(1, Math.min(this.burst, this.rate));
    this.tokens = Math.min(burst, this.tokens + ((now - this.refilledAt) / 1000) * this.rate);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** The destination said wait: no request until `until` (ms epoch), and the bucket starts empty. */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.tokens = 0;
    this.refilledAt = this.pausedUntil;
  }

  /** The destination reported how many requests remain in its window: never spend more than that. */
  observeRemaining(remaining: number, resetAt: number | undefined): void {
    if (remaining <= 0 && resetAt !== undefined) this.pause(resetAt);
    else this.tokens = Math.min(this.tokens, remaining);
  }

  get pausedUntilMs(): number {
    return this.pausedUntil;
  }
}
