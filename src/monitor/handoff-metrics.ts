import type { Bus } from '../engine/events.ts';
import type { Clock } from '../shared/clock.ts';
import type { MonitorPorts } from './ports.ts';
import type { CheckStatus } from './checks.ts';
import type { CheckSettings, Snapshot } from './snapshot.ts';
import { Registry } from './metrics.ts';

export interface HandoffMetricsOptions {
  store: MonitorPorts;
  bus: Bus;
  clock: Clock;
  settings: CheckSettings;
  /** The latest check snapshot, when the check runner has one. */
  latestChecks: () => Snapshot | undefined;
  /** Whether this process holds each background job's lease now. */
  leasesHeld?: () => readonly { name: string; held: boolean }[];
  /** The processor's cursor name. Default `processor`. */
  processorCursor?: string;
}

/** Seconds; event received → destination acknowledged spans sub-second sends to day-long activation delays. */
const ACK_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400];

const STATUS_VALUE: Record<CheckStatus, number> = { pass: 0, warn: 1, fail: 2 };

// Several processes may share one database. A counter counts this process's own work (what it
// received, processed, sent), so summing a counter over instances gives the cluster's total; what
// describes the database (members, pending items, lag, dead letters) is a gauge read from the store
// at scrape time, the same on every instance, so max (or any one instance) gives the truth.
const OWN = " This process's own: sum across instances.";
const SHARED = ' (the shared database; same on every instance: use max)';

/** Handoff's Prometheus metrics: counters of this process's work fed by the bus, gauges of the database read at scrape time. */
export interface HandoffMetrics {
  registry: Registry;
  /** The exposition text; concurrent scrapes are served one after another. */
  render(): Promise<string>;
  /** Stops listening to the bus. */
  close(): void;
}

export function createHandoffMetrics(options: HandoffMetricsOptions): HandoffMetrics {
  const { store, bus, clock, settings } = options;
  const r = new Registry();
  const destinations = [...new Set(settings.targets.map((t) => t.destination))];

  const ingest = r.counter(
    'handoff_ingest_events_total',
    'Events this process received, by source, type and result (stored, duplicate, rejected); a refused message that named no valid type counts as type="unknown".' +
      OWN,
    ['source', 'type', 'result'],
  );
  const batches = r.counter('handoff_processor_batches_total', 'Processor batches committed.' + OWN);
  const bulkJobs = r.counter(
    'handoff_sync_bulk_jobs_total',
    'Bulk jobs that ended, by kind (import, or export: a large list read back) and result: done (every row applied, or the export read), split (rows missed: split into smaller jobs), failed (rows back to the queue; an export tried again); stalled counts jobs reported as stuck in a queue.' +
      OWN,
    ['destination', 'kind', 'result'],
  );
  const bulkRows = r.counter(
    'handoff_sync_bulk_rows_total',
    'Rows of the bulk jobs that ended, by kind and result (done: applied, or exported rows read; split: in smaller jobs or sent one by one; failed: back to the queue).' +
      OWN,
    ['destination', 'kind', 'result'],
  );
  const processed = r.counter('handoff_processor_events_total', 'Events processed.' + OWN);
  const merges = r.counter('handoff_processor_merges_total', 'Profile merges.' + OWN);
  const quarantined = r.gauge(
    'handoff_processor_quarantined_events',
    'Events quarantined now: processing them failed every time, and later events went on without them' +
      SHARED +
      '.',
  );
  const quarantinedTotal = r.counter(
    'handoff_processor_quarantined_total',
    'Events this process quarantined (a retry that fails again is not counted again).' + OWN,
  );
  const skippedTotal = r.counter(
    'handoff_processor_skipped_total',
    'Profiles whose wake-up (reason=window) or ranking evaluation failed and was skipped.' + OWN,
    ['reason'],
  );
  const lagEvents = r.gauge(
    'handoff_processor_lag_events',
    'Events logged but not yet processed' + SHARED + '.',
  );
  const logged = r.gauge(
    'handoff_events_logged',
    'Events in the event log, by its newest offset' +
      SHARED +
      '; what this process stored is handoff_ingest_events_total{result="stored"}.',
  );
  const lagSeconds = r.gauge(
    'handoff_processor_lag_seconds',
    'How long the oldest unprocessed event has waited, in seconds (0 when caught up)' + SHARED + '.',
  );
  const size = r.gauge(
    'handoff_audience_members',
    'Members of each audience, held out included' + SHARED + '.',
    ['audience'],
  );
  const heldOut = r.gauge(
    'handoff_audience_held_out_members',
    'Held-out (control group) members' + SHARED + '.',
    ['audience'],
  );
  const changes = r.counter(
    'handoff_audience_changes_total',
    'Membership changes this process evaluated, by audience and change.' + OWN,
    ['audience', 'change'],
  );
  const wakePending = r.gauge('handoff_wakeups_pending', 'Profiles with a wake-up scheduled' + SHARED + '.');
  const wakeOverdue = r.gauge(
    'handoff_wakeups_overdue',
    'Wake-ups still pending longer than monitoring.overdueWakeupAfter past due' + SHARED + '.',
  );
  const requests = r.counter(
    'handoff_sync_requests_total',
    'HTTP requests this process sent to a destination, by method, endpoint (contact, list, read) and outcome (2xx, 404, 429, 4xx, 5xx, network_error).' +
      OWN,
    ['destination', 'method', 'endpoint', 'outcome'],
  );
  const items = r.counter(
    'handoff_sync_items_total',
    "Items (contact, list) settled by this process's sends, by result: ok, retry, dead." + OWN,
    ['destination', 'result'],
  );
  const rateLimited = r.counter(
    'handoff_sync_rate_limited_total',
    'Requests of this process answered 429 (responses, not items).' + OWN,
    ['destination'],
  );
  const pending = r.gauge('handoff_sync_pending_items', 'Items waiting to be sent' + SHARED + '.', [
    'destination',
  ]);
  const retrying = r.gauge(
    'handoff_sync_retry_queue_depth',
    'Pending items waiting for a retry' + SHARED + '.',
    ['destination'],
  );
  const dead = r.gauge('handoff_sync_dead_letters', 'Dead-lettered items, by audience' + SHARED + '.', [
    'destination',
    'audience',
  ]);
  const ack = r.histogram(
    'handoff_event_to_ack_seconds',
    'Seconds from an event being received to the destination acknowledging the change it caused, observed by the process that sent it.' +
      OWN,
    ['destination', 'audience'],
    ACK_BUCKETS,
  );
  const checkStatus = r.gauge(
    'handoff_check_status',
    'Latest status of each check: 0 pass, 1 warn, 2 fail; reported by the process that runs the checks (the monitor lease): use max.',
    ['check', 'audience', 'destination'],
  );
  const checkValue = r.gauge(
    'handoff_check_value',
    'Latest value of each check; reported by the process that runs the checks: use max.',
    ['check', 'audience', 'destination'],
  );

  const leaseHeld = r.gauge(
    'handoff_lease_held',
    "1 while this process holds the job's lease (and so runs the job), else 0; the sum across instances is 1 while some process runs it.",
    ['lease'],
  );

  const unsubscribe = [
    bus.on('ingest.accepted', (e) => {
      for (const [type, n] of Object.entries(e.storedByType))
        ingest.inc({ source: e.sourceId, type, result: 'stored' }, n);
      for (const [type, n] of Object.entries(e.duplicatesByType))
        ingest.inc({ source: e.sourceId, type, result: 'duplicate' }, n);
      for (const [type, n] of Object.entries(e.rejectedByType))
        ingest.inc({ source: e.sourceId, type, result: 'rejected' }, n);
    }),
    bus.on('processor.batch', (e) => {
      batches.inc();
      processed.inc({}, e.events);
      merges.inc({}, e.merges);
    }),
    bus.on('processor.quarantined', (e) => {
      if (!e.again) quarantinedTotal.inc();
    }),
    bus.on('processor.skipped', (e) => skippedTotal.inc({ reason: e.reason })),
    bus.on('engine.changes', (e) => {
      for (const c of e.changes) changes.inc({ audience: c.audience, change: c.change });
    }),
    bus.on('sync.bulk', (e) => {
      if (e.what === 'submitted') return;
      const kind = e.kind ?? 'import';
      bulkJobs.inc({ destination: e.destination, kind, result: e.what });
      if (e.what !== 'stalled') bulkRows.inc({ destination: e.destination, kind, result: e.what }, e.rows);
    }),
    bus.on('sync.request', (e) => {
      const { destination, method, endpoint, outcome } = e;
      requests.inc({ destination, method, endpoint, outcome });
      if (outcome === '429') rateLimited.inc({ destination });
    }),
    bus.on('sync.sent', (e) => {
      sentSinceTally.add(e.destination);
      items.inc({ destination: e.destination, result: 'ok' }, e.ok);
      items.inc({ destination: e.destination, result: 'retry' }, e.retried);
      items.inc({ destination: e.destination, result: 'dead' }, e.dead);
    }),
  ];

  // Acknowledgements are read from the sync log, which the sending process writes: a process
  // observes those logged while it was sending to the destination itself (one process holds the
  // sync lease), so each is observed about once in a cluster.
  const sentSinceTally = new Set<string>();
  let marks: Promise<{ eventSeq: number; logId: number }> = store.monitor
    .watermarks()
    .catch(() => ({ eventSeq: 0, logId: 0 }));
  r.collect(async () => {
    const from = await marks;
    const t = await store.monitor.tallies(from.eventSeq, from.logId);
    marks = Promise.resolve({ eventSeq: t.eventSeq, logId: t.logId });
    const sending = new Set(sentSinceTally);
    sentSinceTally.clear();
    for (const a of t.acknowledged)
      if (sending.has(a.destination))
        ack.observe({ destination: a.destination, audience: a.audience }, Math.max(0, a.ms) / 1000);
  });
  for (const d of destinations) rateLimited.inc({ destination: d }, 0);
  r.collect(async () => {
    const cursor = await store.cursors.get(options.processorCursor ?? 'processor');
    const head = await store.events.head();
    lagEvents.set({}, Math.max(0, head - cursor));
    logged.set({}, head);
    const oldest = await store.monitor.eventAfter(cursor);
    lagSeconds.set({}, oldest ? Math.max(0, clock.now() - oldest.receivedAt) / 1000 : 0);
    quarantined.set({}, await store.quarantine.count());
  });
  r.collect(async () => {
    size.reset();
    heldOut.reset();
    for (const a of settings.audiences) {
      size.set({ audience: a.key }, 0);
      heldOut.set({ audience: a.key }, 0);
    }
    for (const c of await store.monitor.audienceCounts()) {
      size.set({ audience: c.audience }, c.members);
      heldOut.set({ audience: c.audience }, c.heldOut);
    }
    const w = await store.monitor.wakeups(clock.now() - settings.monitoring.overdueWakeupAfterMs);
    wakePending.set({}, w.pending);
    wakeOverdue.set({}, w.overdue);
  });
  r.collect(async () => {
    dead.reset();
    for (const d of destinations) {
      const depth = await store.monitor.queueDepth(d);
      pending.set({ destination: d }, depth.pending);
      retrying.set({ destination: d }, depth.retrying);
      for (const t of settings.targets.filter((t) => t.destination === d))
        dead.set({ destination: d, audience: t.audience }, 0);
      for (const [audience, n] of await store.monitor.deadCounts(d))
        dead.set({ destination: d, audience }, n);
    }
  });
  r.collect(() => {
    const latest = options.latestChecks();
    checkStatus.reset();
    checkValue.reset();
    for (const c of latest ? [...latest.audiences.flatMap((a) => a.checks), ...latest.checks] : []) {
      const labels = { check: c.check, audience: c.audience, destination: c.destination };
      checkStatus.set(labels, STATUS_VALUE[c.status]);
      if (c.value !== undefined) checkValue.set(labels, c.value);
    }
    return Promise.resolve();
  });

  r.collect(() => {
    for (const l of options.leasesHeld?.() ?? []) leaseHeld.set({ lease: l.name }, l.held ? 1 : 0);
    return Promise.resolve();
  });

  let queue: Promise<unknown> = Promise.resolve();
  return {
    registry: r,
    render() {
      const next = queue.then(() => r.render());
      queue = next.catch(() => undefined);
      return next;
    },
    close() {
      for (const off of unsubscribe) off();
    },
  };
}
