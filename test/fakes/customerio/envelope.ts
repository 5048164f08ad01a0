/**
 * Customer.io's error bodies. The App API's own OpenAPI was not available (notes §B); its Track
 * OpenAPI gives 400 as `{ meta: { errors: [reason…] } }`, and customerio-node reads either
 * `meta.error` or `meta.errors`. The fake uses `meta.errors` for 400 and `meta.error` for every
 * other failure, as Handoff's own Track-compatible routes do.
 */

/** A response the fake will send: status, JSON body and extra headers. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** What the request log should note about a membership page (set by the route). */
  page?: PageNote;
}

/** Where a membership request sat in its pagination chain, for the request log. */
export interface PageNote {
  segmentId: number;
  /** The chain (one pass from a request without `start`), numbered from 1. */
  chain: number;
  /** 1-based page number within the chain. */
  page: number;
  /** Members returned on this page. */
  returned: number;
  /** Set when a pagination fault decided the answer. */
  fault?: 'failAfterPages' | 'truncateAfterPages';
}

/** An expected failure: a status and the message Customer.io would carry in `meta`. */
export interface CioError {
  status: number;
  message: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: CioError };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (status: number, message: string): { ok: false; error: CioError } => ({
  ok: false,
  error: { status, message },
});

/** `{ meta: { errors: [m] } }` for a 400 (Track OpenAPI), `{ meta: { error: m } }` otherwise. */
export function errorBody(status: number, message: string): unknown {
  return status === 400 ? { meta: { errors: [message] } } : { meta: { error: message } };
}

export const errorReply = (e: CioError, headers?: Record<string, string>): Reply => ({
  status: e.status,
  body: errorBody(e.status, e.message),
  ...(headers ? { headers } : {}),
});

// Wording from the Track OpenAPI's 401 description; the App API body is unverified.
export const UNAUTHORIZED: CioError = { status: 401, message: 'Unauthorized request' };

/** The App API docs' 429 text ("Your request is over the 10-per-second limit"). */
export const rateLimited = (perSecond: number): CioError => ({
  status: 429,
  message: `Your request is over the ${perSecond}-per-second limit.`,
});

/** The body an injected status sends. */
export function injectedError(status: number, perSecond: number): CioError {
  if (status === 429) return rateLimited(perSecond);
  return { status, message: `injected ${status} error` };
}
