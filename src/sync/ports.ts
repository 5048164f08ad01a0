import type { AudienceStore, Cursors, IdentityStore } from '../engine/ports.ts';
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
  /**
   * Pending items due at `now`, suppression (higher priority) first, then earlier due, then by
   * contact: the due items of at most `limit` contacts (those of the first `limit` due items),
   * every due item of a chosen contact with it, so its lists travel in one request.
   */
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
  /** Items of the destination in (contact, list) order, optionally for one contact; for verification and tests. */
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

/** A claim on an account's rate budget for up to `count` requests (times in ms, by the caller's clock). */
export interface RateTake {
  now: number;
  /** How many slots the caller wants (its requests waiting), at least 1. */
  count: number;
  /** Spacing between requests at the rate in force: 1000 / requests per second. */
  intervalMs: number;
  /** How far ahead of `now` slots may be granted (the caller sleeps until each). */
  aheadMs: number;
  /**
   * The longest wait the budget can legitimately impose (a pause's cap plus one interval): a slot
   * further ahead was set by a clock later than this one (a clock stepped back) and is brought in.
   */
  maxWaitMs: number;
}

/**
 * What the budget answered. `granted` ≥ 1: the caller's slots are `waitMs` from now and every
 * `intervalMs` after, `granted` of them; 0: none within reach, ask again in `waitMs`.
 */
export interface RateGrant {
  granted: number;
  waitMs: number;
}

/**
 * The rate budget of each destination account, shared by every process on the database and kept
 * across restarts (GCRA: one theoretical arrival time per account). Granted slots are at least
 * their interval apart, so no sliding second holds more than the rate; a pause moves the next
 * slot past it for every process.
 */
export interface RateBudgetStore {
  /** Atomically grants the account's next slots that fall within `aheadMs` of `now` (up to `count`), or says how long to wait. */
  take(account: string, request: RateTake): Promise<RateGrant>;
  /** No slot of the account before `until` (a 429's Retry-After), for every process. */
  pauseUntil(account: string, until: number): Promise<void>;
  /** The account's next free slot (ms), or undefined when it has never been used. */
  nextSlot(account: string): Promise<number | undefined>;
}

/** The parts of the store the sync worker and reconcile use: the outbox, its cursor, profiles and the sync state. */
export interface SyncPorts {
  sync: SyncStore;
  audiences: AudienceStore;
  cursors: Cursors;
  identity: IdentityStore;
}

/** What the destination's job reported when it ended (Cordial's `result`). */
export interface BulkResult {
  totalRecords: number;
  updated: number;
  inserted: number;
  rejected: number;
  error: number;
  ignored: number;
}

/**
 * One bulk import job: every item of the destination with `bulk_job = id` is one row of its file,
 * to be added to (`add`) or removed from `list`. `planned`: in the ledger, not yet accepted by the
 * destination; `running`: accepted as `remoteId`, polled; `done`/`failed`: ended, its items released.
 */
export interface BulkJob {
  id: number;
  destination: string;
  list: string;
  add: boolean;
  /** The unguessable name of the job's file while it is served. */
  token: string;
  state: 'planned' | 'running' | 'done' | 'failed';
  /** Items assigned when the job was planned. */
  rows: number;
  remoteId: string | undefined;
  /** The destination's last reported status (Pending, Processing, Throttled, Done, Failed…). */
  status: string | undefined;
  totalItems: number | undefined;
  completedItems: number | undefined;
  result: BulkResult | undefined;
  message: string | undefined;
  /** Submissions that failed (the import request itself, not rows). */
  attempts: number;
  createdAt: number;
  submittedAt: number | undefined;
  /** When `status` last changed (ms): how long a job has sat Pending or Throttled. */
  statusSince: number | undefined;
  endedAt: number | undefined;
  /** When the job is next submitted (planned) or polled (running), ms. */
  nextPollAt: number;
}

/** The fields of a job the bulk sender changes as it goes. */
export type BulkJobPatch = Partial<
  Pick<
    BulkJob,
    | 'state'
    | 'remoteId'
    | 'status'
    | 'totalItems'
    | 'completedItems'
    | 'result'
    | 'message'
    | 'attempts'
    | 'submittedAt'
    | 'statusSince'
    | 'endedAt'
    | 'nextPollAt'
  >
>;

/** The bulk job ledger of a destination (table sync_bulk_jobs, column sync_items.bulk_job). */
export interface BulkStore {
  /**
   * (list, direction) groups with at least `threshold` items pending, due at `now`
   * (`due_at <= now AND next_attempt_at <= now`), in no job and allowed in bulk (`bulk_ok = 1`).
   */
  candidates(
    destination: string,
    now: number,
    threshold: number,
  ): Promise<{ list: string; add: boolean; count: number }[]>;
  /**
   * In one transaction: inserts a planned job and assigns it up to `limit` of the items
   * `candidates` counts for (list, add), in contact order; or, with `from`, exactly these contacts
   * of job `from.job` (a job split after rejected rows). Undefined, and nothing written, if no item
   * was assigned.
   */
  plan(job: {
    destination: string;
    list: string;
    add: boolean;
    token: string;
    at: number;
    limit: number;
    from?: { job: number; contacts: readonly string[] };
  }): Promise<BulkJob | undefined>;
  /** Jobs planned or running, oldest first. */
  active(destination: string): Promise<BulkJob[]>;
  /** The `limit` most recent jobs, newest first (for status pages). */
  recent(destination: string, limit: number): Promise<BulkJob[]>;
  /** The planned or running job whose file is named `token`; undefined once it ended. */
  byToken(token: string): Promise<BulkJob | undefined>;
  /** Contacts of a job's items after `after` in contact order, at most `limit`. */
  contactsOf(job: number, after: string, limit: number): Promise<string[]>;
  update(job: number, patch: BulkJobPatch): Promise<void>;
  /**
   * The job applied every row: each of its items gets `sent = add` (state done when that is what is
   * desired, else pending again, for the newer change), leaves the job, and is logged `ok` in the
   * sync log with `request` and `message`. Returns how many.
   */
  complete(job: number, at: number, request: string, message: string): Promise<number>;
  /**
   * The job's items leave it unacknowledged: back to pending with `next_attempt_at`; with
   * `perContact` they are never put in a job again (bulk_ok = 0) until a new change; with
   * `countAttempt` their attempts go up by one. Returns how many.
   */
  release(
    job: number,
    options: { nextAttemptAt: number; perContact: boolean; countAttempt: boolean; message: string },
  ): Promise<number>;
}
