import type { Outcome } from './envelope.ts';
import { fail, ok } from './envelope.ts';

/** What a `next` token carries. Clients must treat it as opaque; the fake reads it back. */
export interface Cursor {
  segmentId: number;
  /** The last cio_id already returned; the next page starts after it. */
  after: string;
  /** The pagination chain, numbered from 1 per fake (for page faults and the log). */
  chain: number;
  /** The page number this token asks for (2 for the token on page 1). */
  page: number;
}

/** base64url JSON, so a token looks opaque and survives a query string without encoding. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.segmentId, c.after, c.chain, c.page])).toString('base64url');
}

/** A token from another segment, or one that is not ours, is a 400 [U: the live answer is unknown]. */
export function decodeCursor(token: string, segmentId: number): Outcome<Cursor> {
  const invalid = fail(400, `start: ${JSON.stringify(token)} is not a valid token for segment ${segmentId}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    return invalid;
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) return invalid;
  const [segment, after, chain, page] = parsed as unknown[];
  if (segment !== segmentId || typeof after !== 'string') return invalid;
  if (!Number.isInteger(chain) || !Number.isInteger(page) || (page as number) < 2) return invalid;
  return ok({ segmentId, after, chain: chain as number, page: page as number });
}
