import type { LoggedRequest } from '../request-log.ts';
import { RequestLog as SharedLog } from '../request-log.ts';

import type { PageNote } from './envelope.ts';

/** One request as the fake saw it; `/__fake/*` calls are not recorded. */
export interface RecordedRequest extends LoggedRequest {
  method: string;
  /** The path as sent (still URL-encoded), without the query string. */
  path: string;
  /** Query parameters (the last value of a repeated name). */
  query: Record<string, string>;
  /** Request headers, lower-cased names. */
  headers: Record<string, string>;
  /** The status sent, or null when the socket was destroyed instead. */
  status: number | null;
  /** True when answered 429, whether by the rate limit or by injection. */
  rateLimited: boolean;
  /** On a 429: Retry-After in seconds (`retryAt` is the instant it points to). */
  retryAfterSeconds?: number;
  /** On a membership request that got past auth and the rate limit: its place in the chain. */
  page?: PageNote;
  /** Set when a fault decided the outcome. */
  fault?: 'status' | 'reset' | 'failAfterPages' | 'truncateAfterPages';
}

/** Every /v1 request in arrival order. */
export class RequestLog extends SharedLog<RecordedRequest> {}
