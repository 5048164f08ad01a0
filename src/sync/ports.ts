import type { RequestBucket, RequestCount, RequestRecord, SyncItem } from './model.ts';

/** A membership change turned into the desired state of one (contact, list). */
export interface DesiredState {
  contact: string;
  list: string;
  audience: string;
  profileId: string;
  email: string | undefined;
  desired: boolean;
  changeSeq: number;
  cause: string;
  version: string;
  changedAt: number;
  priority: number;
  dueAt: number;
}

/** A member the destination cannot be told about: no usable value for its identifier. */
export interface Unmatched {
  audience: string;
  profileId: string;
  /** Undefined clears it (the profile left the audience, or became matchable). */
  reason: string | undefined;
  at: number;
}

/** What happened to one item in a send. */
export interface ItemResult {
  item: SyncItem;
  /** ok: the destination now holds `item.desired`; retry: try again at `nextAttemptAt`; dead: dead-lettered. */
  result: 'ok' | 'retry' | 'dead';
  attempts: number;
  nextAttemptAt: number;
  status: number | undefined;
  errorKey?: string;
  message: string;
  request: string;
  at: number;
}

export interface SyncCounts {
  audience: string;
  list: string;
  members: number;
  pending: number;
  dead: number;
  unmatched: number;
}

export interface DeadLetter {
  contact: string;
  list: string;
  audience: string;
  desired: boolean;
  attempts: number;
  status: number | undefined;
  errorKey: string | undefined;
  message: string;
  request: string;
  at: number;
}

/** One (contact, list) item of a destination, as dead letters are named. */
export interface DeadLetterKey {
  contact: string;
  list: string;
}

/** The sync ledger and queue of one or more destinations. */
export interface SyncStore {
  /** Records desired states and unmatched members from the change outbox, and moves the cursor, atomically. */
  record(
    destination: string,
    cursor: { name: string; from: number; to: number },
    desired: readonly DesiredState[],
    unmatched: readonly Unmatched[],
  ): Promise<void>;
  /** Pending items due at `now`, suppression (higher priority) first, at most `limit`. */
  due(destination: string, now: number, limit: number): Promise<SyncItem[]>;
  /** When the next pending item becomes due, or null. */
  nextDueAt(destination: string): Promise<number | null>;
  /** Applies send results: acknowledged state, retries, dead letters; appends to the log. */
  results(destination: string, results: readonly ItemResult[]): Promise<void>;
  counts(destination: string): Promise<SyncCounts[]>;
  deadLetters(destination: string, audience?: string): Promise<DeadLetter[]>;
  /** Dead items back to pending (all, or one audience's); returns how many. */
  retry(destination: string, audience?: string): Promise<number>;
  /** These dead items back to pending; returns how many were dead. */
  retryDead(destination: string, items: readonly DeadLetterKey[]): Promise<number>;
  /**
   * These dead items resolved without sending (state done, the destination untouched), each
   * recorded in the sync log as `skipped` with `note`; returns how many were dead.
   */
  skipDead(destination: string, items: readonly DeadLetterKey[], at: number, note: string): Promise<number>;
  /**
   * Re-asserts items (pending again, as if never sent): every item that was sent or is wanted,
   * optionally only one audience's or only these contacts'; returns how many.
   */
  reassert(
    destination: string,
    options?: { audience?: string; contacts?: readonly string[] },
  ): Promise<number>;
  /** The (contact, list) items an audience's member was synced under: how a deleted profile's exits still reach the destination. */
  itemsOfMember(destination: string, audience: string, profileId: string): Promise<SyncItem[]>;
  /** `itemsOfMember` for many members in one read: the items of every (audience, profileId) given. */
  itemsOfMembers(
    destination: string,
    members: readonly { audience: string; profileId: string }[],
  ): Promise<SyncItem[]>;
  /** Unmatched members after (audience, profileId) in key order, at most `limit`: to re-check as identifiers arrive. */
  unmatchedAfter(
    destination: string,
    after: { audience: string; profileId: string },
    limit: number,
  ): Promise<{ audience: string; profileId: string }[]>;
  /** Items of the destination, optionally for one contact; for verification and tests. */
  items(destination: string, contact?: string): Promise<SyncItem[]>;
}

/**
 * The durable log of requests sent to destinations, one row per request: what `/metrics`, the
 * audit and the dashboard count requests and 429s from, so they agree with what the destination
 * saw, across restarts and across processes (`handoff sync` run beside `handoff serve`).
 */
export interface RequestLog {
  append(records: readonly RequestRecord[]): Promise<void>;
  /** The highest row id, where a tally starts. */
  watermark(): Promise<number>;
  /** Requests logged after row `afterId`, counted; `to` is the highest id read. */
  tally(afterId: number): Promise<{ to: number; counts: RequestCount[] }>;
  /** Requests to `destination` answered in [since, until), counted. */
  counts(destination: string, since: number, until: number): Promise<RequestCount[]>;
  /** Requests and 429s to `destination` at or after `since`, in buckets of `bucketMs`; empty buckets omitted. */
  buckets(destination: string, since: number, bucketMs: number): Promise<RequestBucket[]>;
  /** Items (contact, list) settled by sends to `destination` in [since, until), by result (from the sync log). */
  items(
    destination: string,
    since: number,
    until: number,
  ): Promise<{ ok: number; retry: number; dead: number }>;
  /** Drops rows answered before `before` (ms); returns how many. */
  prune(before: number): Promise<number>;
}
