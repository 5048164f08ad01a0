import type { EventLog } from '../ingest/ports.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { IdentityOp, IdentitySnapshot, IdentifierKey, ProfileView } from '../identity/model.ts';
import type { AudienceWrites, Membership, MembershipChange, ProfileRecord } from './model.ts';

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
  /** Profiles whose wake-up is at or before `now`, earliest first (ties by profile id), at most `limit`. */
  due(now: number, limit: number): Promise<string[]>;
  /** The earliest pending wake-up, or null. */
  nextWakeAt(): Promise<number | null>;
  /** An audience's members, oldest membership first (ties by profile id). */
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
  /**
   * Marks events for retry (`all`, or these offsets); returns how many of them are now marked,
   * those marked already included (asking twice is not an error).
   */
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

/** The parts of the store the engine reads and writes: the log, cursors, profiles, audiences, quarantine. */
export interface EnginePorts {
  events: EventLog;
  cursors: Cursors;
  identity: IdentityStore;
  audiences: AudienceStore;
  quarantine: QuarantineStore;
  /** Applies a BatchCommit atomically; CursorMovedError (nothing applied) if the cursor moved. */
  commit(batch: BatchCommit): Promise<void>;
}
