import type { LoggedEvent } from '../ingest/event.ts';
import type { FailureRecord, QuarantineWrites } from './ports.ts';
import { CursorMovedError } from './ports.ts';

/**
 * What a processing failure means for the event being processed: `transient` (the database is
 * busy, full or failing, or closing, or its server unreachable; another processor moved the cursor) is retried with backoff
 * and never blamed on the event; `deterministic` (anything else: the same event fails the same
 * way every time) is isolated and the event quarantined, so it cannot hold up the log.
 */
export type FailureKind = 'transient' | 'deterministic';

/** SQLite result codes (better-sqlite3 puts the extended code on `error.code`) and OS codes that pass. */
const TRANSIENT_CODES = [/^SQLITE_BUSY/, /^SQLITE_LOCKED/, /^SQLITE_FULL$/, /^SQLITE_IOERR/, /^ENOSPC$/];

/**
 * PostgreSQL failures that are the server's condition, not the event's: SQLSTATE classes 08
 * (connection exception) and 53 (insufficient resources: disk full, out of memory, too many
 * connections), serialization failure 40001, deadlock 40P01, lock not available 55P03, operator
 * intervention 57P0x (shutdown, starting up), a read-only transaction 25006 (a standby or a
 * read-only database); porsager's connection codes and the socket's own errors.
 */
const POSTGRES_TRANSIENT = [
  /^08[0-9A-Z]{3}$/,
  /^53[0-9A-Z]{3}$/,
  /^40001$/,
  /^40P01$/,
  /^55P03$/,
  /^57P0[0-9]$/,
  /^25006$/,
  /^CONNECTION_(CLOSED|DESTROYED|ENDED)$/,
  /^CONNECT_TIMEOUT$/,
  /^E(CONNREFUSED|CONNRESET|CONNABORTED|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)$/,
];

/** better-sqlite3's words when a statement runs on a closed database (the store is shutting down). */
const CLOSING = /database connection is not open|database is closing|store is closed/i;

/** Classifies a processing failure once, at the processor's edge; see FailureKind. */
export function classifyFailure(error: unknown): FailureKind {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof CursorMovedError) return 'transient';
    if (typeof e !== 'object') break;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && TRANSIENT_CODES.some((c) => c.test(code))) return 'transient';
    if (typeof code === 'string' && POSTGRES_TRANSIENT.some((c) => c.test(code))) return 'transient';
    if (typeof message === 'string' && CLOSING.test(message)) return 'transient';
    e = (e as { cause?: unknown }).cause;
  }
  return 'deterministic';
}

const MAX_MESSAGE = 1_000;

/** The record kept of a failure: class, stable code, message (capped) and the first stack frame. */
export function describeFailure(error: unknown): FailureRecord {
  if (!(error instanceof Error)) {
    return { errorClass: typeof error, code: 'processing_failed', message: clip(String(error)), frame: null };
  }
  const code = (error as { code?: unknown }).code;
  const frame =
    error.stack
      ?.split('\n')
      .find((line) => line.trimStart().startsWith('at '))
      ?.trim() ?? null;
  return {
    errorClass: error.name || error.constructor.name,
    code: typeof code === 'string' && code !== '' ? code : 'processing_failed',
    message: clip(error.message),
    frame,
  };
}

const clip = (text: string): string => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text);

export type { RetryPolicy } from '../shared/backoff.ts';
export { TRANSIENT_RETRY, backoffMs } from '../shared/backoff.ts';

/** A failure one event caused while it was resolved: that event is set aside without a search. */
export class EventFailure extends Error {
  constructor(
    readonly event: LoggedEvent,
    override readonly cause: unknown,
  ) {
    super(`event ${event.offset}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'EventFailure';
  }
}

/** The log columns a quarantine row and its bus event name. */
export const columnsOf = (e: LoggedEvent) => ({
  offset: e.offset,
  sourceId: e.sourceId,
  messageId: e.messageId,
  type: e.type,
});

/** New quarantine rows for events set aside. */
export const quarantineOf = (
  aside: readonly { event: LoggedEvent; error: FailureRecord }[],
  at: number,
): QuarantineWrites => ({
  add: aside.map((a) => ({ event: columnsOf(a.event), error: a.error, at })),
  claimed: [],
  released: [],
});
