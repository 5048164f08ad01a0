import type { AlertStateStore, MonitorStore } from '../monitor/ports.ts';
import type { BulkStore, RateBudgetStore, RequestLog, SyncStore } from '../sync/ports.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { EventLog } from '../ingest/ports.ts';
import type { SourceStore } from '../sources/ports.ts';
import type { AudienceStore, BatchCommit, Cursors, IdentityStore, QuarantineStore } from '../engine/ports.ts';
import type { Readiness } from './failures.ts';
import type { LeaseStore } from '../shared/leases.ts';
import type { Signals } from '../shared/signals.ts';

// Each core declares the ports it uses (src/<core>/ports.ts); the Store composes them, and
// adapters and their contract tests import them from here.
export type { AppendOutcome, EventLog } from '../ingest/ports.ts';
export type {
  AudienceStore,
  BatchCommit,
  Cursors,
  FailureRecord,
  IdentityStore,
  QuarantinedEvent,
  QuarantineStore,
  QuarantineWrites,
} from '../engine/ports.ts';
export { CursorMovedError } from '../engine/ports.ts';

/** Enters and exits of one audience in one time bucket. */
export interface ChangeBucket {
  /** Start of the bucket (ms): a multiple of the bucket width since the epoch. */
  at: number;
  enters: number;
  exits: number;
}

/** Sends to a destination in one time bucket, by outcome. */
export interface SendBucket {
  /** Start of the bucket (ms): a multiple of the bucket width since the epoch. */
  at: number;
  ok: number;
  retried: number;
  dead: number;
  /** Responses with status 429 (counted among `retried`). */
  rateLimited: number;
}

/** Read-only questions the admin API asks; none of them is on the ingest or engine path. */
export interface AdminQueries {
  /** Members and held-out members of every audience with any. */
  memberCounts(): Promise<{ audience: string; members: number; heldOut: number }[]>;
  /** Enters and exits of `audience` (every audience when undefined) at or after `since`, in buckets of `bucketMs`, oldest first; empty buckets omitted. */
  changeBuckets(audience: string | undefined, since: number, bucketMs: number): Promise<ChangeBucket[]>;
  /** Up to `limit` members of an audience, newest first (ties by profile id), labelled by email or userId. */
  sampleMembers(
    audience: string,
    limit: number,
  ): Promise<{ profileId: string; since: number; heldOut: boolean; label: string | undefined }[]>;
  /** A profile's newest `limit` logged events, newest first. */
  recentEvents(profileId: string, limit: number): Promise<LoggedEvent[]>;
  /** Send outcomes to `destination` at or after `since`, in buckets of `bucketMs`, oldest first. */
  sendBuckets(destination: string, since: number, bucketMs: number): Promise<SendBucket[]>;
  /** Per audience: when a send last completed, and when one was last acknowledged (a skipped dead letter is no send). Ordered by audience. */
  lastSends(
    destination: string,
  ): Promise<{ audience: string; lastAt: number; lastOkAt: number | undefined }[]>;
  /** Acknowledged sends at or after `since`, newest first, at most `limit`: when the change happened and when it was acknowledged. */
  acknowledged(
    destination: string,
    since: number,
    limit: number,
  ): Promise<{ audience: string; desired: boolean; changedAt: number; at: number }[]>;
  /**
   * Every member of `audience`, newest first (ties by profile id), with where it stands at
   * `destination`; with `alsoIn`, only those who are members of that audience too.
   */
  memberStanding(destination: string, audience: string, alsoIn?: string): Promise<MemberStanding[]>;
  /** Members in both audiences, for every pair (a < b) that shares any. */
  overlap(): Promise<{ a: string; b: string; members: number }[]>;
  /** The (contact, list) items of a profile at `destination`, and whether the destination holds it there. */
  listsOf(
    destination: string,
    profileId: string,
  ): Promise<
    { audience: string; list: string; contact: string; wanted: boolean; held: boolean; state: string }[]
  >;
}

/**
 * Where one member stands at a destination: acknowledged on the list (`held`), queued (`pending`,
 * also before the sync has recorded it), without the identifier the destination keys contacts
 * by (`no_identifier`), dead-lettered (`refused`), or kept out as a control (`held_out`).
 */
/** Secrets Handoff generated because their variable was unset (the admin token, write keys). */
export interface GeneratedSecretStore {
  /**
   * Keeps each value whose name has none kept yet (the first process to keep one wins) and
   * returns the kept value of every name given.
   */
  keep(values: Readonly<Record<string, string>>): Promise<Record<string, string>>;
}

export type Standing = 'held' | 'pending' | 'no_identifier' | 'refused' | 'held_out';

export interface MemberStanding {
  profileId: string;
  /** An email or userId to show; undefined when the profile has neither. */
  label: string | undefined;
  since: number;
  standing: Standing;
}

/** Everything Handoff keeps. One adapter per database. */
export interface Store {
  events: EventLog;
  cursors: Cursors;
  identity: IdentityStore;
  audiences: AudienceStore;
  sync: SyncStore;
  /** Bulk import jobs of the sync ledger. */
  bulk: BulkStore;
  sources: SourceStore;
  monitor: MonitorStore;
  /** One row per request sent to a destination. */
  requests: RequestLog;
  /** What each alert webhook was last told, per check. */
  alerts: AlertStateStore;
  admin: AdminQueries;
  quarantine: QuarantineStore;
  /** Which process runs each background job. */
  leases: LeaseStore;
  /**
   * Wakes the processor and the sync outbox reader, in whichever process runs them, when there is
   * work. An append that stores events announces `events`, and a commit that records changes
   * `changes`, to the other processes as it commits (see `Signals.announced`).
   */
  signals: Signals;
  /** Each destination account's request rate, shared by every process. */
  rateBudgets: RateBudgetStore;
  /** Secrets generated for unset variables, shared by every process on the store. */
  secrets: GeneratedSecretStore;
  /** Applies a BatchCommit atomically; CursorMovedError (nothing applied) if the cursor moved. */
  commit(batch: BatchCommit): Promise<void>;
  /** Whether writes can succeed now (never waits for a lock), and why not. */
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
}
