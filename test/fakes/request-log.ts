/** What every fake records of a request: enough to order them and to check Retry-After waits. */
export interface LoggedRequest {
  /** 1-based arrival order. */
  seq: number;
  /** Arrival time, ms since the epoch on the fake's clock. */
  at: number;
  /** When the response was sent (or the socket destroyed), same clock. */
  respondedAt: number;
  /** On a 429: the instant its Retry-After points to (`respondedAt + seconds`). */
  retryAt?: number;
}

/** Every request a fake served, in arrival order. */
export class RequestLog<R extends LoggedRequest> {
  readonly entries: R[] = [];

  add(entry: Omit<R, 'seq'>): R {
    const recorded = { seq: this.entries.length + 1, ...entry } as R;
    this.entries.push(recorded);
    return recorded;
  }

  /**
   * Requests that arrived after a 429 was sent and before its Retry-After instant: a client that
   * honours Retry-After sends none. A concurrent client may already have requests in flight when
   * the 429 leaves; `graceMs` (default 0) skips arrivals that close behind it.
   */
  insideRetryAfter(graceMs = 0): R[] {
    const waits = this.entries.filter((r) => r.retryAt !== undefined);
    return this.entries.filter((r) =>
      waits.some((w) => r.seq > w.seq && r.at >= w.respondedAt + graceMs && r.at < (w.retryAt ?? 0)),
    );
  }

  /** The most requests that arrived within any `windowMs` (default 1000), counting every request. */
  peakRate(windowMs = 1000): number {
    const times = this.entries.map((r) => r.at).sort((a, b) => a - b);
    let peak = 0;
    let from = 0;
    for (let i = 0; i < times.length; i++) {
      while ((times[i] ?? 0) - (times[from] ?? 0) >= windowMs) from++;
      peak = Math.max(peak, i - from + 1);
    }
    return peak;
  }

  clear(): void {
    this.entries.length = 0;
  }
}
