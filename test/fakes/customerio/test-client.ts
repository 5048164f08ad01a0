import type { FakeCustomerIo } from './index.ts';

// JSON.parse's own result type, so tests can read response fields without a cast at every line.
type Json = ReturnType<typeof JSON.parse>;

/** A response as the tests look at it. */
export interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

/** Plain `fetch` GET against the fake's /v1, the way an App API client calls it. */
export function appClient(fake: () => FakeCustomerIo) {
  /** `auth`: the Authorization header; null sends none. Default: the fake's first key. */
  return async (path: string, auth: string | null = fake().authorization): Promise<Answer> => {
    const headers: Record<string, string> = auth === null ? {} : { authorization: auth };
    const res = await fetch(`${fake().baseUrl}${path}`, { headers });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers };
  };
}

/** `GET /__fake/state` from outside the process. */
export async function fakeState(origin: string): Promise<Json> {
  const res = await fetch(`${origin}/__fake/state`);
  return res.json();
}

/** `n` people with id `u<i>` and email `u<i>@example.com`, i from 1. */
export const people = (n: number, from = 1) =>
  Array.from({ length: n }, (_, i) => ({ id: `u${from + i}`, email: `u${from + i}@example.com` }));
