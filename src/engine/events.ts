import type { EventBus } from '../shared/bus.ts';
import type { FailureRecord } from '../store/ports.ts';
import type { MembershipChange } from './model.ts';

/** Lifecycle events the engines emit; logs, metrics, the dashboard and tests subscribe. */
export interface HandoffEvents {
  'ingest.accepted': {
    sourceId: string;
    stored: number;
    duplicates: number;
    rejected: number;
    /** Duplicates and rejections by message type (`unknown` when a refused message named none). */
    duplicatesByType: Record<string, number>;
    rejectedByType: Record<string, number>;
  };
  'processor.batch': { events: number; offset: number; merges: number; ms: number };
  /** An event failed deterministically and was set aside; the log moved on past it. */
  'processor.quarantined': {
    offset: number;
    sourceId: string;
    messageId: string;
    type: string;
    error: FailureRecord;
    /** Whether it was already quarantined (a retry that failed again). */
    again: boolean;
  };
  /** Quarantined events that processed on retry and left the quarantine. */
  'processor.released': { offsets: readonly number[] };
  /** A profile's wake-up or ranking evaluation failed deterministically and was skipped. */
  'processor.skipped': { profileId: string; reason: 'window' | 'ranking'; error: FailureRecord };
  /** Membership changes just committed, in order. */
  'engine.changes': { changes: readonly MembershipChange[] };
  /** One round of sends to a destination. */
  'sync.sent': {
    destination: string;
    /** Contact updates attempted (one or two HTTP requests each; the request log counts requests). */
    requests: number;
    items: number;
    ok: number;
    retried: number;
    dead: number;
  };
  /** A bulk import job moved: submitted, ended (done, split after rejected rows, failed), or stalled in a queue. */
  'sync.bulk': {
    destination: string;
    job: number;
    list: string;
    add: boolean;
    what: 'submitted' | 'done' | 'split' | 'failed' | 'stalled';
    rows: number;
    message: string;
  };
}

/** The bus every part of Handoff emits its lifecycle events on. */
export type Bus = EventBus<HandoffEvents>;
