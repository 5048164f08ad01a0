import type { Outcome } from './envelope.ts';
import { GENERIC, fail, ok } from './envelope.ts';

/** How a contact is addressed: by its cID or by one of the account's unique keys. */
export type ContactKey = { kind: 'cid'; cID: string } | { kind: 'secondary'; key: string; value: string };

const CID = /^[0-9a-f]{24}$/;

export const isContactId = (s: string): boolean => CID.test(s);

/** The index form of a key value: emails compare without case, everything else as its string. */
export function normalizeKeyValue(key: string, value: unknown): string {
  const s = typeof value === 'string' ? value.trim() : String(value);
  return key === 'email' ? s.toLowerCase() : s;
}

/**
 * Reads the `{primary_key}` path form (already URL-decoded): `<cID>`, `<primary key value>` (the
 * email, on email-keyed accounts) or `<secondary key>:<value>`, e.g. `email:jane@x.com`, `custID:42`.
 */
export function parseContactKey(decoded: string, secondaryKeys: readonly string[]): Outcome<ContactKey> {
  const colon = decoded.indexOf(':');
  if (colon > 0) {
    const key = decoded.slice(0, colon);
    const value = decoded.slice(colon + 1);
    if (key === 'cID' || key === 'cid') return ok({ kind: 'cid', cID: value });
    if (secondaryKeys.includes(key))
      return ok({ kind: 'secondary', key, value: normalizeKeyValue(key, value) });
    // Swagger `ContactError` lists this message; an unknown key name is the likely cause.
    if (!decoded.includes('@')) return fail(422, GENERIC, 'Search field is not correct');
  }
  if (isContactId(decoded)) return ok({ kind: 'cid', cID: decoded });
  return ok({ kind: 'secondary', key: 'email', value: normalizeKeyValue('email', decoded) });
}
