/** One request as the fake saw it; `/__fake/*` calls are not recorded. */
export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** The path as sent (still URL-encoded), without the query string. */
  path: string;
  /** The query string without `?`, or ''. */
  query: string;
  /** Request headers, lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON (or form) body; the raw text when it did not parse; undefined when empty. */
  body: unknown;
  /** The status sent, or null when the socket was destroyed instead. */
  status: number | null;
  /** Arrival time, ms since the epoch on the fake's clock. */
  at: number;
  /** When the response was sent (or the socket destroyed), same clock. */
  respondedAt: number;
  /** True when answered 429, whether by the rate limit or by injection. */
  rateLimited: boolean;
  /** On a 429: Retry-After in seconds, and the instant it points to (`respondedAt + seconds`). */
  retryAfterSeconds?: number;
  retryAt?: number;
  /** Set when a fault decided the outcome. */
  fault?: 'failNext' | 'status' | 'reset' | 'reset-after-apply';
}

/** Every /v2 request in arrival order. */
export class RequestLog {
  readonly entries: RecordedRequest[] = [];

  add(entry: Omit<RecordedRequest, 'seq'>): RecordedRequest {
    const recorded = { seq: this.entries.length + 1, ...entry };
    this.entries.push(recorded);
    return recorded;
  }

  /**
   * Requests that arrived after a 429 was sent and before its Retry-After instant: a client that
   * honours Retry-After sends none. A concurrent client may already have requests in flight when
   * the 429 leaves; `graceMs` (default 0) skips arrivals that close behind it.
   */
  insideRetryAfter(graceMs = 0): RecordedRequest[] {
    const waits = this.entries.filter((r) => r.retryAt !== undefined);
    return this.entries.filter((r) =>
      waits.some((w) => r.seq > w.seq && r.at >= w.respondedAt + graceMs && r.at < (w.retryAt ?? 0)),
    );
  }

  clear(): void {
    this.entries.length = 0;
  }
}
