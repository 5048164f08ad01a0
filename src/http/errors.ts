import { storeUnavailableReason } from '../store/failures.ts';

/** Seconds a client is asked to wait when the store cannot take writes. */
export const STORE_RETRY_AFTER_S = 30;

/** The body of every error response: a stable code and a sentence saying what is wrong. */
export interface ErrorBody {
  success: false;
  error: { code: string; message: string };
}

export const errorBody = (code: string, message: string): ErrorBody => ({
  success: false,
  error: { code, message },
});

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message: string;
}

/** An error response: status, body and any headers (`Retry-After`). */
export interface MappedError {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

/**
 * Maps framework errors raised before a handler runs (body parsing, limits) to a 4xx that says
 * what to fix: 413 for a body over the limit, 400 otherwise. A store that cannot take writes is
 * the server's condition: a 503 with `Retry-After` and the reason. Anything else is ours: a 500
 * without internals.
 */
export function mapRequestError(error: FastifyLikeError, contentLength: string | undefined): MappedError {
  const unavailable = storeUnavailableReason(error);
  if (unavailable !== undefined)
    return {
      status: 503,
      body: errorBody('store_unavailable', `${unavailable}; nothing was acknowledged, retry later`),
      headers: { 'retry-after': String(STORE_RETRY_AFTER_S) },
    };
  return { headers: {}, ...mapClientError(error, contentLength) };
}

function mapClientError(
  error: FastifyLikeError,
  contentLength: string | undefined,
): { status: number; body: ErrorBody } {
  switch (error.code) {
    // PostgreSQL refuses a NUL character in any text it stores or compares: the value can match
    // nothing, so the request (an id in a path or a webhook body) is the client's to fix.
    case '22021':
      return {
        status: 400,
        body: errorBody(
          'invalid_character',
          'a value contains a NUL character (\\u0000), which Handoff does not accept',
        ),
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return {
        status: 413,
        body: errorBody(
          'request_too_large',
          `request body${contentLength ? ` is ${contentLength} bytes;` : ' exceeds'} the limit is 500 KB per request (32 KB per message); send smaller batches`,
        ),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 400,
        body: errorBody('unsupported_content_type', 'Content-Type must be application/json'),
      };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: errorBody('empty_body', 'the request body is empty; send a JSON object') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        status: 400,
        body: errorBody('malformed_json', `the body is not valid JSON: ${error.message}`),
      };
    default:
      if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
        return { status: 400, body: errorBody('bad_request', error.message) };
      }
      return { status: 500, body: errorBody('internal', 'internal error; it has been logged') };
  }
}
