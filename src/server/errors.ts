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

/**
 * Maps framework errors raised before a handler runs (body parsing, limits) to a 4xx that says
 * what to fix: 413 for a body over the limit, 400 otherwise. Anything else is ours: a 500
 * without internals.
 */
export function mapRequestError(
  error: FastifyLikeError,
  contentLength: string | undefined,
): { status: number; body: ErrorBody } {
  switch (error.code) {
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
