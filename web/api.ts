/** The admin API, as the dashboard calls it: every request carries the admin token as a Bearer token. */

const KEY = 'handoff.adminToken';

export const token = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (value: string): void => sessionStorage.setItem(KEY, value),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** The server refused the token; the dashboard asks for it again. */
export class Unauthorized extends Error {}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    headers: {
      authorization: `Bearer ${token.get() ?? ''}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (res.status === 401) throw new Unauthorized(body.error?.message ?? 'the admin token was refused');
  if (!res.ok) throw new Error(body.error?.message ?? `${res.status} ${res.statusText}`);
  return body as T;
}
