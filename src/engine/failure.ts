import type { FailureRecord } from '../store/ports.ts';
import { CursorMovedError } from '../store/ports.ts';

/**
 * What a processing failure means for the event being processed: `transient` (the database is
 * busy, full or failing, or closing; another processor moved the cursor) is retried with backoff
 * and never blamed on the event; `deterministic` (anything else: the same event fails the same
 * way every time) is isolated and the event quarantined, so it cannot hold up the log.
 */
export type FailureKind = 'transient' | 'deterministic';

/** SQLite result codes (better-sqlite3 puts the extended code on `error.code`) and OS codes that pass. */
const TRANSIENT_CODES = [/^SQLITE_BUSY/, /^SQLITE_LOCKED/, /^SQLITE_FULL$/, /^SQLITE_IOERR/, /^ENOSPC$/];

/** better-sqlite3's words when a statement runs on a closed database (the store is shutting down). */
const CLOSING = /database connection is not open|database is closing|store is closed/i;

/** Classifies a processing failure once, at the processor's edge; see FailureKind. */
export function classifyFailure(error: unknown): FailureKind {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (e instanceof CursorMovedError) return 'transient';
    if (typeof e !== 'object') break;
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && TRANSIENT_CODES.some((c) => c.test(code))) return 'transient';
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

/** Failing again after a wait: a transient failure's retry policy, as data. */
export interface RetryPolicy {
  /** The first wait (ms). Default 250. */
  initialMs: number;
  /** Each further wait is this many times the last. Default 2. */
  multiplier: number;
  /** The longest wait (ms). Default 30,000. */
  maxMs: number;
  /** Each wait is shortened by up to this fraction at random, so processes do not retry in step. Default 0.2. */
  jitter: number;
}

export const TRANSIENT_RETRY: RetryPolicy = { initialMs: 250, multiplier: 2, maxMs: 30_000, jitter: 0.2 };

/** The wait before retry number `attempt` (1 for the first). */
export function backoffMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxMs, policy.initialMs * policy.multiplier ** Math.max(0, attempt - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}
