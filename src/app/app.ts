import type { Config } from '../config/load.ts';
import { Processor } from '../engine/processor.ts';
import { Runner } from '../shared/runner.ts';
import { TRANSIENT_RETRY } from '../engine/failure.ts';
import { Scheduler } from '../shared/scheduler.ts';
import type { AudienceSet } from '../engine/audience-stage.ts';
import { audienceSet } from '../engine/audience-stage.ts';
import { SEGMENT_EVENTS } from '../sources/customerio/messages.ts';
import { compileAudiences } from '../audiences/index.ts';
import { IngestService } from '../ingest/service.ts';
import { EventBus } from '../shared/bus.ts';
import type { Bus } from '../engine/events.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { silentLogger } from '../shared/logger.ts';
import { uuidv7 } from '../shared/ids.ts';
import { sameSecret, secretDigest } from '../shared/secrets.ts';
import type { Store } from '../store/ports.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { StoreLocation } from '../store/open.ts';
import { openStore } from '../store/open.ts';
import type { SyncOverrides, SyncService } from './sync.ts';
import { createSync } from './sync.ts';
import { SegmentSource } from '../sources/customerio/segment-source.ts';
import { CheckRunner } from '../monitor/runner.ts';
import { createAlertNotifier } from './alerts.ts';
import type { HandoffMetrics } from '../monitor/handoff-metrics.ts';
import { createHandoffMetrics } from '../monitor/handoff-metrics.ts';
import type { LeaseTiming } from '../shared/leases.ts';
import type { LeasedJobs } from './jobs.ts';
import { leasedJobs } from './jobs.ts';

/** Where operational errors go; pino's logger satisfies it. */
export type AppLogger = Logger;

export interface AppOptions {
  config: Config;
  clock?: Clock;
  logger?: AppLogger;
  /** A store to use instead of the configured one (tests). */
  store?: Store;
  newProfileId?: () => string;
  /** Sync test hooks: retry policy, sleep, randomness. */
  sync?: SyncOverrides;
  /** Lease timing (tests); default 5 s TTL, a try every second. */
  leases?: LeaseTiming;
  /** How often the processor and the outbox reader look for work unsignalled (ms, tests); default 1,000. */
  safetyNetMs?: number;
}

/** Handoff's running parts, wired from a Config. The only place concrete adapters are chosen. */
export interface App {
  config: Config;
  clock: Clock;
  store: Store;
  bus: Bus;
  ingest: IngestService;
  processor: Processor;
  /** Cordial sync, when configured. */
  sync: SyncService | undefined;
  /** The compiled audiences with their versions. */
  audiences: AudienceSet;
  /** Prometheus metrics, and the checks runner `serve` starts. */
  monitor: { metrics: HandoffMetrics; checks: CheckRunner };
  /** Customer.io-sourced audiences: polls, webhooks and held removals; undefined when none. */
  segments: SegmentSource | undefined;
  /** Source id by write key. */
  sourceForKey(writeKey: string): string | undefined;
  /** Source id of the Customer.io source with this site id and API key (Track API Basic auth). */
  sourceForSiteKey(siteId: string, apiKey: string): string | undefined;
  /** The background jobs, each run while this process holds its lease. */
  jobs: LeasedJobs;
  /** Asks the processor loop (in whichever process runs it) to run now: quarantined events were marked for retry. */
  pokeProcessor(): void;
  /** Starts taking the jobs' leases: each job runs while its lease is held. */
  start(): void;
  /** Resolves when everything ingested so far has been processed. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

/** Opens the configured store (SQLite or PostgreSQL, migrated as needed) and wires the app on it. */
export async function openApp(options: AppOptions): Promise<App> {
  const store = options.store ?? (await openStore(storeLocation(options.config)));
  return createApp({ ...options, store });
}

/** Where the configured store is; fails when the PostgreSQL URL's variable is unset. */
export function storeLocation(config: Config): StoreLocation {
  const postgres = config.storage.postgres;
  if (postgres === undefined) return { sqlitePath: config.storage.sqlitePath };
  if (postgres.url.value === undefined)
    throw new Error(`${postgres.url.env} is not set: storage.postgres.url names it for the database URL`);
  return {
    sqlitePath: config.storage.sqlitePath,
    postgres: { url: postgres.url.value, poolSize: postgres.poolSize, schema: postgres.schema },
  };
}

export function createApp(options: AppOptions): App {
  const { config } = options;
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentLogger;
  if (options.store === undefined && config.storage.postgres !== undefined)
    throw new Error('the PostgreSQL store is opened asynchronously: use openApp');
  const store = options.store ?? createSqliteStore(config.storage.sqlitePath);
  const bus: Bus = new EventBus((error) => logger.error({ err: error }, 'event listener failed'));
  const ingest = new IngestService({
    log: store.events,
    clock,
    bus,
    maxFutureSkewMs: config.ingest.maxFutureSkewMs,
  });
  const audiences = audienceSet(compileAudiences(config.audiences), config.audiences, SEGMENT_EVENTS);
  // Set once the jobs are wired below; a commit is refused once the processor lease is lost.
  const leased: { jobs?: LeasedJobs } = {};
  const processor = new Processor({
    store: {
      ...store,
      commit: async (batch) => {
        leased.jobs?.fence('processor');
        await store.commit(batch);
        const wake = earliestWake(batch.audiences.states);
        if (wake !== undefined) scheduler.wakeBy(wake);
      },
    },
    policy: config.identity,
    bus,
    clock,
    audiences,
    newProfileId: options.newProfileId ?? (() => uuidv7(clock.now())),
  });
  const scheduler = new Scheduler({
    nextWakeAt: () => store.audiences.nextWakeAt(),
    runDue: () => processor.processWakeups(),
    clock,
    onError: (error) => logger.error({ err: error }, 'wake-up processing failed; it will be retried'),
  });
  let rankingTimer: NodeJS.Timeout | undefined;
  const sync = createSync({
    config,
    store,
    bus,
    clock,
    logger,
    overrides: options.sync,
    fence: () => leased.jobs?.fence('sync:cordial'),
    ...(options.safetyNetMs ? { safetyNetMs: options.safetyNetMs } : {}),
  });
  const runner = new Runner(
    () => processor.drain(),
    (error, retryInMs) =>
      logger.error({ err: error, retryInMs }, 'processor batch failed; it will be retried'),
    options.safetyNetMs ?? 1000,
    TRANSIENT_RETRY,
  );
  bus.on('processor.quarantined', (e) =>
    logger.error(
      { offset: e.offset, sourceId: e.sourceId, messageId: e.messageId, type: e.type, error: e.error },
      e.again
        ? 'a quarantined event failed again on retry; it stays quarantined'
        : 'event quarantined: processing it fails every time; later events go on (see handoff events quarantine list)',
    ),
  );
  bus.on('processor.skipped', (e) =>
    logger.error(
      { profileId: e.profileId, reason: e.reason, error: e.error },
      e.reason === 'window'
        ? "a profile's wake-up failed every time and was skipped; it is evaluated again at its next event"
        : "a profile's ranking evaluation failed and was skipped",
    ),
  );
  // Work is announced through the store's signals: the process that runs the job may be another.
  // The store's appends and commits announce themselves to other processes as they commit.
  bus.on('ingest.accepted', (e) => {
    if (e.stored > 0) store.signals.announced('events');
  });
  bus.on('engine.changes', (e) => {
    if (e.changes.length > 0) store.signals.announced('changes');
  });
  let unlistenEvents: (() => void) | undefined;
  const alerts = createAlertNotifier({ config, store, clock, logger, fence: () => leased.jobs?.fence('monitor') });
  const checks = new CheckRunner({
    store,
    settings: config,
    clock,
    onError: (error) => logger.error({ err: error }, 'monitoring checks failed; they will run again'),
    ...(alerts ? { onSnapshot: (snapshot) => alerts.observe(snapshot) } : {}),
  });
  const metrics = createHandoffMetrics({
    store,
    bus,
    clock,
    settings: config,
    latestChecks: () => checks.latest,
    leasesHeld: () => leased.jobs?.held() ?? [],
  });
  const appApiKey = config.customerio?.appApiKey;
  if (appApiKey && appApiKey.value === undefined)
    logger.warn(
      { variable: appApiKey.env },
      `${appApiKey.env} is not set: Customer.io segment polls are paused until it is set to an App API key (webhooks still work)`,
    );
  const segments =
    config.customerio && config.audiences.some((a) => a.source?.customerio !== undefined)
      ? new SegmentSource({
          config: config.customerio,
          audiences: config.audiences,
          store,
          ingest,
          identity: config.identity,
          clock,
          logger,
          // Another process may hold the processor lease: then its progress is waited for.
          catchUp: () => (leased.jobs?.holds('processor') !== false ? processor.drain() : processedAll(store)),
          fence: () => leased.jobs?.fence('customerio-segments'),
        })
      : undefined;
  const keys = new Map(
    config.sources.flatMap((s) =>
      s.kind !== 'segment' || s.writeKey.value === undefined
        ? []
        : [[secretDigest(s.writeKey.value), s.id] as const],
    ),
  );
  const sites = new Map(
    config.sources.flatMap((s) =>
      s.kind !== 'customerio' || s.apiKey.value === undefined
        ? []
        : [[s.siteId, { id: s.id, apiKey: s.apiKey.value }] as const],
    ),
  );

  const jobs = leasedJobs({
    store: store.leases,
    logger,
    ...(options.leases ? { timing: options.leases } : {}),
    jobs: {
      processor: {
        start: () => {
          processor.takeOver();
          unlistenEvents = store.signals.on('events', () => runner.poke());
          runner.start();
          scheduler.start();
          if (audiences.compiled.topPercentRankings.length > 0) {
            rankingTimer = setInterval(() => {
              processor
                .refreshRankings()
                .catch((error: unknown) => logger.error({ err: error }, 'ranking refresh failed'));
            }, config.engine.rankingRefreshMs);
            rankingTimer.unref();
          }
        },
        stop: async () => {
          unlistenEvents?.();
          clearInterval(rankingTimer);
          await scheduler.stop();
          await runner.stop();
        },
      },
      'sync:cordial': sync && { start: () => sync.start(), stop: () => sync.pause() },
      // Without the App API key every poll would fail; the warning above says so once.
      'customerio-segments':
        segments && appApiKey?.value !== undefined
          ? { start: () => segments.start(), stop: () => segments.stop() }
          : undefined,
      monitor: { start: () => checks.start(), stop: () => checks.stop() },
    },
  });

  leased.jobs = jobs;
  return {
    config,
    clock,
    store,
    bus,
    ingest,
    processor,
    sync,
    audiences,
    segments,
    monitor: { metrics, checks },
    // Keys are found by their digest and compared in constant time: timing tells nothing about them.
    sourceForKey: (key) => keys.get(secretDigest(key)),
    sourceForSiteKey: (siteId, apiKey) => {
      const site = sites.get(siteId);
      return site !== undefined && sameSecret(apiKey, site.apiKey) ? site.id : undefined;
    },
    pokeProcessor: () => store.signals.notify('events'),
    jobs,
    start: () => jobs.start(),
    async settle() {
      await jobs.ready();
      await runner.idle();
      await processor.drain();
      while ((await processor.processWakeups()) > 0);
      await sync?.settle();
    },
    async stop() {
      await jobs.stop();
      unlistenEvents?.();
      clearInterval(rankingTimer);
      await segments?.stop();
      await checks.stop();
      await alerts?.stop();
      metrics.close();
      await sync?.stop();
      await scheduler.stop();
      await runner.stop();
      await store.close();
    },
  };
}

/** Resolves once the processor (in whichever process holds its lease) has applied everything logged so far. */
async function processedAll(store: Store, timeoutMs = 60_000): Promise<void> {
  const head = await store.events.head();
  const until = Date.now() + timeoutMs;
  while ((await store.cursors.get('processor')) < head) {
    if (Date.now() > until) throw new Error('the processor did not catch up within a minute');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The earliest wake-up among states a commit writes, if any. */
function earliestWake(states: readonly { wakeAt: number | null }[]): number | undefined {
  let earliest: number | undefined;
  for (const { wakeAt } of states)
    if (wakeAt !== null && (earliest === undefined || wakeAt < earliest)) earliest = wakeAt;
  return earliest;
}
