import type { LoggedRequest } from '../request-log.ts';
import { RequestLog as SharedLog } from '../request-log.ts';

/** One request as the fake saw it; `/__fake/*` calls are not recorded. */
export interface RecordedRequest extends LoggedRequest {
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
  /** True when answered 429, whether by the rate limit or by injection. */
  rateLimited: boolean;
  /** On a 429: Retry-After in seconds (`retryAt` is the instant it points to). */
  retryAfterSeconds?: number;
  /** Set when a fault decided the outcome. */
  fault?: 'failNext' | 'status' | 'reset' | 'reset-after-apply';
}

/** Every /v2 request in arrival order. */
export class RequestLog extends SharedLog<RecordedRequest> {}
