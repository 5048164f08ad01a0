/** Time, as the pacer reads and waits on it; injected so tests can run on a virtual clock. */
export interface PacerClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * Keeps requests under a rate limit by a sliding window: a request goes out only when fewer than
 * `limit` went out in the `windowMs` before it, and never before a pause (a `Retry-After`) ends.
 * Times are those at which requests actually went out, not planned slots: a timer that fires late
 * must not let the next request go early to catch up, which would put more than `limit` in one
 * window.
 */
export class SlidingWindowPacer {
  /** Send times within the last window, oldest first. */
  private readonly sent: number[] = [];
  private pausedUntil = 0;

  constructor(
    private readonly limit: number,
    private readonly clock: PacerClock,
    private readonly windowMs = 1000,
  ) {
    if (!(limit >= 1))
      throw new RangeError(`a rate limit must be at least 1 request per window, not ${limit}`);
  }

  /** Waits until a request may go out, and counts it as sent at that moment. */
  async take(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      while (this.sent.length > 0 && this.sent[0]! <= now - this.windowMs) this.sent.shift();
      const windowFreeAt = this.sent.length < this.limit ? now : this.sent[0]! + this.windowMs;
      const at = Math.max(windowFreeAt, this.pausedUntil);
      if (at <= now) {
        this.sent.push(now);
        return;
      }
      // Checked again on waking: another caller may have taken the place meanwhile.
      await this.clock.sleep(at - now);
    }
  }

  /** Holds every request until `ms` from now (a `Retry-After`, or a backoff after a failure). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
  }
}
