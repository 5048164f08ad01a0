import type { IncomingEvent, LoggedEvent } from '../ingest/event.ts';
import type { IdentityOp, IdentitySnapshot, IdentifierKey, ProfileView } from '../identity/model.ts';

/** The append-only event log: what ingest acknowledges is here, in offset order. */
export interface EventLog {
  /** Appends in one transaction; a repeated (sourceId, messageId) is not stored again. */
  append(events: readonly IncomingEvent[]): Promise<AppendOutcome>;
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

/** Everything Handoff keeps. One adapter per database. */
export interface Store {
  events: EventLog;
  cursors: Cursors;
  identity: IdentityStore;
  close(): Promise<void>;
}
