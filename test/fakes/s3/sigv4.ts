// AWS Signature Version 4 as S3 checks it on a presigned URL (query-string auth), so the fake
// refuses a URL that was tampered with, signed with another secret, or has expired.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: string): string => createHash('sha256').update(data).digest('hex');

/** RFC 3986 encoding, as SigV4 canonicalises (S3 paths keep `/`). */
function uriEncode(value: string, keepSlash: boolean): string {
  return [...Buffer.from(value, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

export type PresignCheck = { ok: true; accessKeyId: string } | { ok: false; code: string; message: string };

/**
 * Checks a presigned request: every X-Amz-* parameter present, not expired at `now`, and the
 * signature equal to the one `secretOf(accessKeyId)` gives over the canonical request.
 */
export function checkPresigned(options: {
  method: string;
  /** The decoded object path, e.g. `/bucket/handoff/imports/x.csv`. */
  path: string;
  query: URLSearchParams;
  host: string;
  now: number;
  secretOf: (accessKeyId: string) => string | undefined;
}): PresignCheck {
  const { query } = options;
  const get = (k: string) => query.get(k) ?? '';
  if (get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256')
    return {
      ok: false,
      code: 'AuthorizationQueryParametersError',
      message: 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"',
    };
  const credential = get('X-Amz-Credential').split('/');
  const [accessKeyId = '', day = '', region = '', service = ''] = credential;
  const amzDate = get('X-Amz-Date');
  const expires = Number(get('X-Amz-Expires'));
  const signedHeaders = get('X-Amz-SignedHeaders');
  const signature = get('X-Amz-Signature');
  if (credential.length !== 5 || !/^\d{8}T\d{6}Z$/.test(amzDate) || !Number.isInteger(expires) || !signature)
    return {
      ok: false,
      code: 'AuthorizationQueryParametersError',
      message:
        'Query-string authentication requires X-Amz-Credential, X-Amz-Date, X-Amz-Expires and X-Amz-Signature',
    };
  const signedAt = Date.parse(
    `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
  );
  if (expires > 604_800)
    return {
      ok: false,
      code: 'AuthorizationQueryParametersError',
      message: 'X-Amz-Expires must be less than a week (in seconds) that is 604800',
    };
  if (options.now > signedAt + expires * 1000)
    return { ok: false, code: 'AccessDenied', message: 'Request has expired' };
  const secret = options.secretOf(accessKeyId);
  if (secret === undefined)
    return {
      ok: false,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
    };
  const canonicalQuery = [...query.entries()]
    .filter(([k]) => k !== 'X-Amz-Signature')
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = signedHeaders.split(';');
  if (headers.some((h) => h !== 'host'))
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'only the host header may be signed on this fake',
    };
  const canonical = [
    options.method,
    uriEncode(options.path, true),
    canonicalQuery,
    `host:${options.host}\n`,
    signedHeaders,
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
  const expected = Buffer.from(hmac(key, toSign).toString('hex'));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      message: 'The request signature we calculated does not match the signature you provided.',
    };
  return { ok: true, accessKeyId };
}

/** The access key id of a header-signed request (`Authorization: AWS4-HMAC-SHA256 Credential=AKID/…`). */
export function headerAccessKey(authorization: string | undefined): string | undefined {
  const match = /Credential=([^/,\s]+)\//.exec(authorization ?? '');
  return match?.[1];
}
