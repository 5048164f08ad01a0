import type { PageNote } from './envelope.ts';

/** One request as the fake saw it; `/__fake/*` calls are not recorded. */
export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  method: string;
  /** The path as sent (still URL-encoded), without the query string. */
  path: string;
  /** Query parameters (the last value of a repeated name). */
  query: Record<string, string>;
  /** Request headers, lower-cased names. */
  headers: Record<string, string>;
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
  /** On a membership request that got past auth and the rate limit: its place in the chain. */
  page?: PageNote;
  /** Set when a fault decided the outcome. */
  fault?: 'status' | 'reset' | 'failAfterPages' | 'truncateAfterPages';
}

/** Every /v1 request in arrival order. */
export class RequestLog {
  readonly entries: RecordedRequest[] = [];

  add(entry: Omit<RecordedRequest, 'seq'>): RecordedRequest {
    const recorded = { seq: this.entries.length + 1, ...entry };
    this.entries.push(recorded);
    return recorded;
  }

  /**
   * Requests that arrived after a 429 was sent and before its Retry-After instant: a client that
   * honours Retry-After sends none. `graceMs` skips arrivals that close behind the 429 (requests a
   * concurrent client already had in flight).
   */
  insideRetryAfter(graceMs = 0): RecordedRequest[] {
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
