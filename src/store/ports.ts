import type { AlertStateStore } from '../monitor/ports.ts';
import type { RequestLog } from '../sync/ports.ts';
import type { EventColumns, IncomingEvent, LoggedEvent } from '../ingest/event.ts';
import type { AudienceWrites, Membership, MembershipChange, ProfileRecord } from '../engine/model.ts';
import type { SyncStore } from '../sync/ports.ts';
import type { SourceStore } from '../sources/ports.ts';
import type { MonitorStore } from '../monitor/ports.ts';
import type { Readiness } from './failures.ts';
import type { IdentityOp, IdentitySnapshot, IdentifierKey, ProfileView } from '../identity/model.ts';

/** The append-only event log: what ingest acknowledges is here, in offset order. */
export interface EventLog {
  /**
   * Appends in one transaction (possibly shared with concurrent calls; settles after its commit).
   * A repeated (sourceId, messageId) is not stored again, whatever its timestamp or body.
   */
  append(events: readonly IncomingEvent[]): Promise<AppendOutcome>;
  /**
   * As `append`, for events already reduced to their columns (the ingest routes' fast path,
   * which never builds the parsed message). Optional: without it the caller parses each body.
   */
  appendColumns?(rows: EventColumns[]): Promise<AppendOutcome>;
  /** Events with offset > `after`, oldest first, at most `limit`. */
  readAfter(after: number, limit: number): Promise<LoggedEvent[]>;
  /** The highest offset written so far (0 when empty). */
  head(): Promise<number>;
}

export interface AppendOutcome {
  /** One entry per input event, in order: whether it was stored or already known. */
  results: ('stored' | 'duplicate')[];
}

/** Durable positions of the stages that read the log. */
export interface Cursors {
  get(name: string): Promise<number>;
}

/** Profiles, their identifiers, traits and merges. Only the processor writes here. */
export interface IdentityStore {
  /** Every profile owning one of `keys`, with all of that profile's identifiers. */
  snapshot(keys: readonly IdentifierKey[]): Promise<IdentitySnapshot>;
  /**
   * Applies a batch's identity changes and moves the cursor `cursorName` from `from` to `to`,
   * atomically. Throws CursorMovedError, applying nothing, when the cursor is no longer at `from`
   * (another processor got there first).
   */
  commit(ops: readonly IdentityOp[], cursorName: string, from: number, to: number): Promise<void>;
  /** A profile by identifier, following merges to the surviving profile. */
  findProfile(key: IdentifierKey): Promise<ProfileView | undefined>;
  /** The profile with this id (following merges), or undefined. */
  getProfile(id: string): Promise<ProfileView | undefined>;
  /**
   * `getProfile` for many ids in one read: each id found (following merges) maps to its profile;
   * ids of no live profile are absent. Optional: without it a caller asks `getProfile` per id.
   */
  getProfiles?(ids: readonly string[]): Promise<Map<string, ProfileView>>;
}

/** Another processor advanced the cursor: re-read it and carry on from there. */
export class CursorMovedError extends Error {
  constructor(
    readonly cursorName: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`cursor ${cursorName} is at ${actual}, not ${expected}: another processor is running`);
    this.name = 'CursorMovedError';
  }
}

/** Per-profile audience state, memberships, the change outbox and wake-ups. */
export interface AudienceStore {
  /** The engine's record of each profile (state, traits, memberships); unknown ids get an empty record. */
  load(profileIds: readonly string[]): Promise<Map<string, ProfileRecord>>;
  /** Every logged event of these profiles (as of the last commit), in offset order. */
  history(profileIds: readonly string[]): Promise<LoggedEvent[]>;
  /** Profiles whose wake-up is at or before `now`, earliest first. */
  due(now: number, limit: number): Promise<string[]>;
  /** The earliest pending wake-up, or null. */
  nextWakeAt(): Promise<number | null>;
  members(audience: string): Promise<Membership[]>;
  /** Changes in outbox order after `seq`. */
  changesAfter(seq: number, limit: number): Promise<(MembershipChange & { seq: number })[]>;
  /** Changes of one profile, newest last. */
  changesOf(profileId: string): Promise<(MembershipChange & { seq: number })[]>;
  /** The score at the top `percent`% of profiles that have one, for a top_percent condition. */
  threshold(conditionId: string, percent: number): Promise<number | undefined>;
  /** Profiles whose score for a top_percent condition is at least `value`. */
  scoredAtLeast(conditionId: string, value: number): Promise<string[]>;
  /** Profiles whose score for a top_percent condition is within [low, high]. */
  scoredBetween(conditionId: string, low: number, high: number): Promise<string[]>;
  /** Every live profile with its logged events in offset order, one profile at a time. */
  replay(): AsyncIterable<{ profileId: string; events: LoggedEvent[] }>;
  /** Profiles that are members of any of these audiences. */
  membersOfAny(audiences: readonly string[]): Promise<string[]>;
  /** The definition version of each audience as last applied. */
  appliedVersions(): Promise<Map<string, string>>;
  /** Records the versions now in force (audiences absent from the map are forgotten). */
  recordVersions(versions: ReadonlyMap<string, string>, at: number): Promise<void>;
  /** How many live profiles exist. */
  profileCount(): Promise<number>;
}

/** Enters and exits of one audience in one time bucket. */
export interface ChangeBucket {
  /** Start of the bucket (ms). */
  at: number;
  enters: number;
  exits: number;
}

/** Sends to a destination in one time bucket, by outcome. */
export interface SendBucket {
  /** Start of the bucket (ms). */
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
  /** Up to `limit` members of an audience, newest first, with an email or userId to show. */
  sampleMembers(
    audience: string,
    limit: number,
  ): Promise<{ profileId: string; since: number; heldOut: boolean; label: string | undefined }[]>;
  /** A profile's newest `limit` logged events, newest first. */
  recentEvents(profileId: string, limit: number): Promise<LoggedEvent[]>;
  /** Send outcomes to `destination` at or after `since`, in buckets of `bucketMs`, oldest first. */
  sendBuckets(destination: string, since: number, bucketMs: number): Promise<SendBucket[]>;
  /** Per audience: when a send last completed, and when one was last acknowledged. */
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
   * Every member of `audience`, newest first, with where it stands at `destination`; with
   * `alsoIn`, only those who are members of that audience too.
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
export type Standing = 'held' | 'pending' | 'no_identifier' | 'refused' | 'held_out';

export interface MemberStanding {
  profileId: string;
  /** An email or userId to show; undefined when the profile has neither. */
  label: string | undefined;
  since: number;
  standing: Standing;
}

/** One processor step: identity changes, audience results and the cursor, committed together. */
export interface BatchCommit {
  cursor?: { name: string; from: number; to: number };
  /**
   * Further positions checked and moved like `cursor` (CursorMovedError if one is not at `from`):
   * a retry of quarantined events counts its commits on one, so a log batch evaluated before a
   * retry committed is refused rather than overwriting what the retry applied.
   */
  guards?: readonly { name: string; from: number; to: number }[];
  identity: readonly IdentityOp[];
  audiences: AudienceWrites;
  /** Events set aside or retried in this step; committed with the rest, or not at all. */
  quarantine?: QuarantineWrites;
}

/** An error as the processor recorded it: enough to tell what failed and where. */
export interface FailureRecord {
  /** The error's class name, e.g. `RangeError`. */
  errorClass: string;
  /** A stable code: the error's own `code` when it has one, else `processing_failed`. */
  code: string;
  message: string;
  /** The first frame of its stack, when it has one. */
  frame: string | null;
}

/** An event the processor could not process, kept aside so later events are not held up by it. */
export interface QuarantinedEvent {
  offset: number;
  sourceId: string;
  messageId: string;
  type: string;
  error: FailureRecord;
  /** When it was last quarantined (ms). */
  quarantinedAt: number;
  /** Times processing it failed (1 when first quarantined). */
  attempts: number;
  /** Whether a retry was asked for and no processor has taken it up yet. */
  retryRequested: boolean;
}

/** A quarantine step, part of a BatchCommit. */
export interface QuarantineWrites {
  /** Events failing now: new ones enter with attempts 1; ones already in get attempts + 1. */
  add: readonly {
    event: { offset: number; sourceId: string; messageId: string; type: string };
    error: FailureRecord;
    at: number;
  }[];
  /**
   * Offsets taken up for retry: each must still be marked, or the commit throws CursorMovedError
   * and applies nothing (another processor retried it first). Their marks are cleared.
   */
  claimed: readonly number[];
  /** Retried events that processed: they leave the quarantine. */
  released: readonly number[];
}

/** Events set aside by the processor, and retries asked for by an operator. */
export interface QuarantineStore {
  /** Quarantined events in offset order, at most `limit` (default 1,000). */
  list(limit?: number): Promise<QuarantinedEvent[]>;
  /** How many events are quarantined. */
  count(): Promise<number>;
  /** Marks events for retry (`all`, or these offsets); returns how many it marked. */
  requestRetry(which: 'all' | readonly number[]): Promise<number>;
  /**
   * Up to `limit` events marked for retry, oldest first; `event` is undefined when the event is no
   * longer in the log (its profile was deleted).
   */
  marked(limit: number): Promise<{ offset: number; event: LoggedEvent | undefined }[]>;
  /**
   * Clears a profile's pending wake-up, when re-evaluating it fails every time: the profile is
   * evaluated again at its next event, and other due wake-ups are not held up behind it.
   */
  dropWakeup(profileId: string): Promise<void>;
}

/** Everything Handoff keeps. One adapter per database. */
export interface Store {
  events: EventLog;
  cursors: Cursors;
  identity: IdentityStore;
  audiences: AudienceStore;
  sync: SyncStore;
  sources: SourceStore;
  monitor: MonitorStore;
  /** One row per request sent to a destination. */
  requests: RequestLog;
  /** What each alert webhook was last told, per check. */
  alerts: AlertStateStore;
  admin: AdminQueries;
  quarantine: QuarantineStore;
  /** Applies a BatchCommit atomically; CursorMovedError (nothing applied) if the cursor moved. */
  commit(batch: BatchCommit): Promise<void>;
  /** Whether writes can succeed now (never waits for a lock), and why not. */
  readiness(): Promise<Readiness>;
  close(): Promise<void>;
}
