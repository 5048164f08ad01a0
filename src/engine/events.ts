import type { IngestEvents } from '../ingest/events.ts';
import type { EventBus } from '../shared/bus.ts';
import type { MembershipChange } from './model.ts';
import type { FailureRecord } from './ports.ts';

/** Lifecycle events the engines emit (ingest's own among them); logs, metrics, the dashboard and tests subscribe. */
export interface HandoffEvents extends IngestEvents {
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
  /** A request this process sent to a destination was answered (or failed on the network). */
  'sync.request': {
    destination: string;
    method: string;
    endpoint: string;
    /** 2xx, 404, 429, 4xx, 5xx or network_error. */
    outcome: string;
  };
  /** A bulk import job moved: submitted, ended (done, split after rejected rows, failed), or stalled in a queue. */
  'sync.bulk': {
    destination: string;
    /** Import jobs (the ledger's id) or export jobs (the destination's id) that verify a large list. */
    kind?: 'import' | 'export';
    job: number | string;
    list: string;
    add: boolean;
    what: 'submitted' | 'done' | 'split' | 'failed' | 'stalled';
    rows: number;
    message: string;
  };
}

/** The bus every part of Handoff emits its lifecycle events on. */
export type Bus = EventBus<HandoffEvents>;
