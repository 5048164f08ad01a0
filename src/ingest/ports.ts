import type { EventColumns, IncomingEvent, LoggedEvent } from './event.ts';

/** The append-only event log: what ingest acknowledges is here, in offset order. */
export interface EventLog {
  /**
   * Appends in one transaction (possibly shared with concurrent calls; settles after its commit).
   * A repeated (sourceId, messageId) is not stored again, whatever its timestamp or body, for all
   * time: a deleted profile's events leave the log, but their (sourceId, messageId) are kept, so a
   * client's retry of one is still a duplicate.
   */
  append(events: readonly IncomingEvent[]): Promise<AppendOutcome>;
  /**
   * As `append`, for events already reduced to their columns (the ingest routes' fast path,
   * which never builds the parsed message). Optional: without it the caller parses each body.
   */
  appendColumns?(rows: EventColumns[]): Promise<AppendOutcome>;
  /** Events with offset > `after`, oldest first, at most `limit`. */
  readAfter(after: number, limit: number): Promise<LoggedEvent[]>;
  /**
   * The highest offset in the log (0 when empty). Deleting a profile's events may lower it; their
   * offsets are never used again.
   */
  head(): Promise<number>;
}

export interface AppendOutcome {
  /** One entry per input event, in order: whether it was stored or already known. */
  results: ('stored' | 'duplicate')[];
}
