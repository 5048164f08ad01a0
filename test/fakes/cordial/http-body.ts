import type { IncomingMessage } from 'node:http';
import type { CordialError, Outcome } from './envelope.ts';
import { GENERIC, UNSUPPORTED_MEDIA_TYPE, fail, ok } from './envelope.ts';

const MAX_BODY_BYTES = 5 * 1024 * 1024;

export async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    // Keep draining so the client sees a response rather than a stalled upload.
    if (size <= MAX_BODY_BYTES) chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A body as the log keeps it: parsed when possible, raw text otherwise. */
export function bodyForLog(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Cordial takes JSON or form-encoded bodies (swagger `MediaTypeIsIncorrect`); anything else is 415.
 * Malformed JSON is a 422: the swagger declares no 400 on the contact and list operations.
 */
export function parseBody(text: string, contentType: string | undefined): Outcome<unknown> {
  if (text === '') return ok(undefined);
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) return fail(413, GENERIC, 'Request body too large');
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type === 'application/json') {
    try {
      return ok(JSON.parse(text));
    } catch (error) {
      return fail(422, GENERIC, `Malformed JSON: ${(error as Error).message}`);
    }
  }
  if (type === 'application/x-www-form-urlencoded') return ok(Object.fromEntries(new URLSearchParams(text)));
  const error: CordialError = UNSUPPORTED_MEDIA_TYPE;
  return { ok: false, error };
}

/** True when the Authorization header is Basic `<accepted key>:` (API key as user, blank password). */
export function authorized(header: string | undefined, apiKeys: ReadonlySet<string>): boolean {
  const m = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!m?.[1]) return false;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  return apiKeys.has(decoded.slice(0, colon)) && decoded.slice(colon + 1) === '';
}
