import type { FakeCordial } from './index.ts';

// JSON.parse's own result type, so tests can read response fields without a cast at every line.
type Json = ReturnType<typeof JSON.parse>;

/** A response as the tests look at it. */
export interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

export interface CallOptions {
  /** Authorization header; null sends none. Default: the fake's first key. */
  auth?: string | null;
  contentType?: string;
  /** Sent as-is instead of JSON-encoding `body`. */
  raw?: string;
}

export const basicAuth = (user: string, password = ''): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Plain `fetch` against the fake's /v2, the way a Cordial client would call it. */
export function cordialClient(fake: () => FakeCordial) {
  return async (method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<Answer> => {
    const headers: Record<string, string> = {};
    const auth = options.auth === undefined ? fake().authorization : options.auth;
    if (auth !== null) headers.authorization = auth;
    const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const res = await fetch(`${fake().baseUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };
}

/** `GET /__fake/state` from outside the process, as a demo or a separately started fake is read. */
export async function fakeState(origin: string): Promise<Json> {
  const res = await fetch(`${origin}/__fake/state`);
  return res.json();
}
