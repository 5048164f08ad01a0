import type { Cursors, QuarantineStore } from '../engine/ports.ts';
import type { EventLog } from '../ingest/ports.ts';
import type { SourceStore } from '../sources/ports.ts';
import type { RequestLog } from '../sync/ports.ts';

/** The checks computed continuously and kept as time series, plus the audience size. */
export const CHECK_NAMES = [
  'size',
  'match_rate',
  'size_drift',
  'stuck_members',
  'exit_failures',
  'overdue_wakeups',
  'dead_letters',
  'source_poll',
  'quarantined_events',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

/** One value of one series at one moment. `audience` and `destination` are '' when not applicable. */
export interface CheckSample {
  check: CheckName;
  audience: string;
  destination: string;
  /** When it was measured (ms). */
  at: number;
  value: number;
}

/** A point of a series. */
export interface SeriesPoint {
  /** ms since the epoch. */
  at: number;
  value: number;
}

/** Counts the monitor reads per audience. */
export interface AudienceCounts {
  audience: string;
  /** Every member, held out or not. */
  members: number;
  heldOut: number;
}

/** Per audience and destination: how many current members the destination acknowledged. */
export interface MatchCounts {
  audience: string;
  /** Non-held-out members the destination acknowledged holding on the audience's list. */
  accepted: number;
}

/** Counters read incrementally from the durable log, since a watermark. */
export interface LogTallies {
  /** The highest event offset and sync log id read; pass them back to read only what is new. */
  eventSeq: number;
  logId: number;
  /** Stored events by source and type. */
  stored: { source: string; type: string; count: number }[];
  /** Event received → destination acknowledged (ms), per acknowledged item caused by an event. */
  acknowledged: { destination: string; audience: string; ms: number }[];
}

/** Holdout vs treated: who of each group performed the conversion event since they entered. */
export interface ConversionCounts {
  audience: string;
  treated: number;
  treatedConverted: number;
  heldOut: number;
  heldOutConverted: number;
}

/** Where check samples are kept, and the read models the monitor computes checks from. */
export interface MonitorStore {
  /** Appends samples (one transaction). */
  record(samples: readonly CheckSample[]): Promise<void>;
  /** One series at or after `since`, oldest first. `destination` '' for series without one. */
  series(check: CheckName, audience: string, destination: string, since: number): Promise<SeriesPoint[]>;
  /** Drops samples older than `before` (ms); returns how many. */
  prune(before: number): Promise<number>;
  /** Members and held-out members of every audience with any. */
  audienceCounts(): Promise<AudienceCounts[]>;
  /** Members of each audience who have been members since before `before[audience]` (ms). */
  overstayed(before: ReadonlyMap<string, number>): Promise<Map<string, number>>;
  /** Per audience: current members the destination acknowledged holding. */
  matchCounts(destination: string): Promise<MatchCounts[]>;
  /** Per audience: exits decided before `before` (ms) that the destination has not acknowledged. */
  unacknowledgedExits(destination: string, before: number): Promise<Map<string, number>>;
  /** Per audience: dead-lettered items of the destination. */
  deadCounts(destination: string): Promise<Map<string, number>>;
  /** Per audience: when the destination last acknowledged a send (ms). */
  lastAcknowledged(destination: string): Promise<Map<string, number>>;
  /** Pending items to the destination, and those among them waiting to be retried. */
  queueDepth(destination: string): Promise<{ pending: number; retrying: number }>;
  /** Profiles with a wake-up pending, and those whose wake-up is at or before `overdueAt` (ms). */
  wakeups(overdueAt: number): Promise<{ pending: number; overdue: number }>;
  /** The log offset and receive time (ms) of the first event after `offset`, if any. */
  eventAfter(offset: number): Promise<{ offset: number; receivedAt: number } | undefined>;
  /** Enters and exits per audience in [since, until). */
  changeCounts(since: number, until: number): Promise<{ audience: string; enters: number; exits: number }[]>;
  /** Per audience and group: profiles that entered at or after `since`, and those who performed `event` after entering. */
  conversions(event: string, since: number): Promise<ConversionCounts[]>;
  /** Current watermarks of the log tallies (where counting starts). */
  watermarks(): Promise<{ eventSeq: number; logId: number }>;
  /** What was logged after the watermarks. */
  tallies(eventSeq: number, logId: number): Promise<LogTallies>;
}

/** A check's status as announced to an alert webhook. */
export type AlertStatus = 'pass' | 'warn' | 'fail';

/** Where each alert target's last announced status per check is kept, so a restart does not repeat it. */
export interface AlertStateStore {
  /** Every announced status, by key. */
  alertStates(): Promise<Map<string, AlertStatus>>;
  /** Records that `status` was announced for `key` at `at` (ms). */
  setAlertState(key: string, status: AlertStatus, at: number): Promise<void>;
}

/** The parts of the store the monitor reads: its own series, the request log, the log's head and cursors, quarantine and source polls. */
export interface MonitorPorts {
  monitor: MonitorStore;
  requests: RequestLog;
  events: EventLog;
  cursors: Cursors;
  quarantine: QuarantineStore;
  sources: SourceStore;
}
