/**
 * Cordial's response bodies, as its v2 swagger declares them. Every error but 401 uses the
 * envelope `{ error: true, errorKey, message }`; 401 alone carries `error` as a string.
 */

/** A response the fake will send: status, JSON body and extra headers. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An expected failure: the status and envelope fields Cordial would answer with. */
export interface CordialError {
  status: number;
  errorKey: string;
  message: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: CordialError };

export const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const fail = (
  status: number,
  errorKey: string,
  message: string,
): { ok: false; error: CordialError } => ({
  ok: false,
  error: { status, errorKey, message },
});

export const GENERIC = 'GENERIC_ERROR_KEY';

export const errorReply = (e: CordialError, headers?: Record<string, string>): Reply => ({
  status: e.status,
  body: { error: true, errorKey: e.errorKey, message: e.message },
  ...(headers ? { headers } : {}),
});

// Swagger `AuthenticationFailed`: the one body where `error` is a string.
export const AUTH_FAILURE: Reply = {
  status: 401,
  body: { error: 'Access Denied: Authentication Failure' },
};

// Swagger `RecordNotFound` (contacts, list delete).
export const recordNotFound = (): { ok: false; error: CordialError } =>
  fail(404, 'RECORD_NOT_FOUND', 'record not found');

// Swagger `ListNotExist` (list show, count, clear).
export const listNotExist = (): { ok: false; error: CordialError } =>
  fail(404, 'ACCOUNT_LISTS_NOT_FOUND', 'List does not exist');

// Swagger `ListNotFound` (list update).
export const listNotFound = (): { ok: false; error: CordialError } => fail(404, GENERIC, 'List is not found');

// Swagger `MediaTypeIsIncorrect`.
export const UNSUPPORTED_MEDIA_TYPE: CordialError = {
  status: 415,
  errorKey: 'UNSUPPORTED_MEDIA_TYPE',
  message:
    'Unsupported Media Type: Content-Type header must be application/json or application/x-www-form-urlencoded.',
};

// Not in the swagger (no operation declares 429); the key name is ours. See README notes A.6.
export const RATE_LIMIT_EXCEEDED: CordialError = {
  status: 429,
  errorKey: 'RATE_LIMIT_EXCEEDED',
  message: 'Rate limit exceeded; retry after the number of seconds in Retry-After',
};

/** The body an injected status sends when the test gives none. */
export function injectedErrorBody(status: number): unknown {
  if (status === 429)
    return { error: true, errorKey: RATE_LIMIT_EXCEEDED.errorKey, message: RATE_LIMIT_EXCEEDED.message };
  if (status === 401) return AUTH_FAILURE.body;
  return { error: true, errorKey: GENERIC, message: `injected ${status} error` };
}
