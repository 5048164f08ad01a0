/** What a request to a destination was for: a contact's lists, a list lookup or creation, a read. */
export type RequestEndpoint = 'contact' | 'list' | 'read';

/** How a request ended; `network_error` when no response came back (reset, timeout, refused). */
export type RequestOutcome = '2xx' | '404' | '429' | '4xx' | '5xx' | 'network_error';

export const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  '2xx',
  '404',
  '429',
  '4xx',
  '5xx',
  'network_error',
];

/** One HTTP request a destination's client sent, as observed at its edge. */
export interface RequestRecord {
  destination: string;
  method: 'GET' | 'PUT' | 'POST';
  endpoint: RequestEndpoint;
  outcome: RequestOutcome;
  /** The HTTP status, absent on a network error. */
  status?: number;
  /** When the answer (or the failure) came back (ms). */
  at: number;
}

/** Requests of one (method, endpoint, outcome), counted. */
export interface RequestCount {
  destination: string;
  method: string;
  endpoint: string;
  outcome: RequestOutcome;
  count: number;
}

/** Requests answered 429 in one time bucket. */
export interface RequestBucket {
  /** Start of the bucket (ms). */
  at: number;
  requests: number;
  rateLimited: number;
}

/** Maps an HTTP status (undefined: no response) to its outcome class. */
export function requestOutcome(status: number | undefined): RequestOutcome {
  if (status === undefined) return 'network_error';
  if (status === 404) return '404';
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 200 && status < 300) return '2xx';
  return '4xx';
}

/**
 * The durable log of requests sent to destinations, one row per request: what `/metrics`, the
 * audit and the dashboard count requests and 429s from, so they agree with what the destination
 * saw, across restarts and across processes (`handoff sync` run beside `handoff serve`).
 */
export interface RequestLog {
  append(records: readonly RequestRecord[]): Promise<void>;
  /** The highest row id, where a tally starts. */
  watermark(): Promise<number>;
  /** Requests logged after row `afterId`, counted; `to` is the highest id read. */
  tally(afterId: number): Promise<{ to: number; counts: RequestCount[] }>;
  /** Requests to `destination` answered in [since, until), counted. */
  counts(destination: string, since: number, until: number): Promise<RequestCount[]>;
  /** Requests and 429s to `destination` at or after `since`, in buckets of `bucketMs`; empty buckets omitted. */
  buckets(destination: string, since: number, bucketMs: number): Promise<RequestBucket[]>;
  /** Items (contact, list) settled by sends to `destination` in [since, until), by result (from the sync log). */
  items(
    destination: string,
    since: number,
    until: number,
  ): Promise<{ ok: number; retry: number; dead: number }>;
  /** Drops rows answered before `before` (ms); returns how many. */
  prune(before: number): Promise<number>;
}
