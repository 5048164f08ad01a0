import type { Config } from '../config/load.ts';
import type { Bus } from '../engine/events.ts';
import { Runner } from '../shared/runner.ts';
import { Scheduler } from '../shared/scheduler.ts';
import type { Clock } from '../shared/clock.ts';
import type { Store } from '../store/ports.ts';
import { CordialClient } from '../sync/destinations/cordial/client.ts';
import { CordialDestination } from '../sync/destinations/cordial/destination.ts';
import { RateLimiter } from '../sync/rate-limiter.ts';
import { RequestRecorder } from '../sync/request-recorder.ts';
import { requestOutcome } from '../sync/model.ts';
import type { RetryPolicy } from '../sync/retry-policy.ts';
import { DEFAULT_RETRY_POLICY } from '../sync/retry-policy.ts';
import { SyncWorker } from '../sync/worker.ts';
import type { VerifyReport } from '../sync/reconcile.ts';
import { verify } from '../sync/reconcile.ts';
import type { Logger } from '../shared/logger.ts';
import { randomBytes } from 'node:crypto';
import { BulkSender, DEFAULT_BULK_SETTINGS } from '../sync/bulk.ts';
import { CordialImports } from '../sync/destinations/cordial/imports.ts';
import { servedImportFiles } from '../sync/destinations/cordial/import-file.ts';
import { S3Files } from '../sync/destinations/cordial/s3-files.ts';
import { CordialExports } from '../sync/destinations/cordial/exports.ts';
import { exportList } from '../sync/list-export.ts';

const REMATCH_EVERY_MS = 5_000;

/** Cordial sync, running: the worker, its outbox reader and its send timer. */
export interface SyncService {
  worker: SyncWorker;
  destination: CordialDestination;
  /** Large change sets as import jobs; undefined when `bulk` is not configured. */
  bulk: BulkSender | undefined;
  start(): void;
  /** Stops pulling and sending (the lease was lost); `start` resumes. */
  pause(): Promise<void>;
  /** Pulls every change and sends everything due now. */
  settle(): Promise<void>;
  /** Sends everything due now and runs the import jobs that planned until they end (no pulling). */
  drain(): Promise<void>;
  /** Reads back every contact Cordial was told about (of one audience, or all), under the send retry policy. */
  verify(audience?: string): Promise<VerifyReport>;
  stop(): Promise<void>;
}

export interface SyncOverrides {
  retryPolicy?: RetryPolicy;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

/** What the Cordial sync is wired from: the config, the store, the bus, time, the logger, and test hooks. */
export interface SyncWiring {
  config: Config;
  store: Store;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  overrides?: SyncOverrides;
  /** Throws when this process may no longer send (its lease was lost): checked before each request and result write. */
  fence?: () => void;
  /** How often the outbox is read unsignalled (ms); default 1,000. */
  safetyNetMs?: number;
}

/** Wires Cordial sync from the config; undefined when no audience syncs or no API key is set. */
export function createSync({
  config,
  store,
  bus,
  clock,
  logger,
  overrides = {},
  fence = () => undefined,
  safetyNetMs = 1_000,
}: SyncWiring): SyncService | undefined {
  const cordial = config.destinations.cordial;
  if (!cordial || config.targets.length === 0) return undefined;
  if (cordial.apiKey.value === undefined) {
    logger.warn(
      { variable: cordial.apiKey.env },
      `${cordial.apiKey.env} is not set: Cordial sync is paused; changes wait in the outbox until it is`,
    );
    return undefined;
  }
  // Counted as they are answered, so the log holds what Cordial saw, from every process that sends.
  const recorder = new RequestRecorder({
    log: store.requests,
    destination: 'cordial',
    clock,
    onError: (error) =>
      logger.warn({ err: error }, 'Cordial requests could not be counted in the request log'),
  });
  const client = new CordialClient({
    baseUrl: cordial.baseUrl,
    apiKey: cordial.apiKey.value,
    connections: cordial.concurrency,
    onRequest: (request) => {
      recorder.record(request);
      // This process's own requests, for its counters; the log holds every process's.
      const { method, endpoint, status } = request;
      bus.emit('sync.request', { destination: 'cordial', method, endpoint, outcome: requestOutcome(status) });
    },
  });
  const policy = overrides.retryPolicy ?? DEFAULT_RETRY_POLICY;
  // One budget for the account in the store: every process and command that calls Cordial shares it.
  const limiter = new RateLimiter({
    budget: store.rateBudgets,
    account: 'cordial',
    ratePerSecond: cordial.rateLimit,
    clock,
    maxPauseMs: policy.maxRateLimitWaitMs,
    onError: (error) =>
      logger.warn({ err: error }, 'a Cordial rate-limit pause could not be recorded for the other processes'),
  });
  const sleep = overrides.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // The lease is checked after the rate limiter's wait, right before the request goes out.
  const gate = async () => {
    await limiter.acquire(sleep);
    fence();
  };
  const destination = new CordialDestination({
    client,
    clock,
    createContacts: cordial.createContacts,
    gate,
  });
  const newToken = () => randomBytes(32).toString('base64url');
  const s3 =
    cordial.bulk?.s3 &&
    new S3Files({
      ...cordial.bulk.s3,
      store: store.bulk,
      onRemoveError: (key, error) =>
        logger.warn({ err: error, key }, 'a bulk file could not be deleted from S3; a lifecycle rule on the prefix removes it'),
    });
  const files = s3 ?? (cordial.bulk?.publicBaseUrl ? servedImportFiles(cordial.bulk.publicBaseUrl) : undefined);
  const bulk =
    cordial.bulk &&
    files &&
    new BulkSender({
      store,
      destination: new CordialImports({
        client,
        clock,
        suppressTriggers: cordial.bulk.suppressTriggers,
        gate,
      }),
      files,
      settings: { ...DEFAULT_BULK_SETTINGS, ...cordial.bulk },
      clock,
      policy,
      bus,
      pause: (until) => limiter.pause(until),
      newToken,
      prepareLists: (lists) => destination.prepareLists(lists),
      ...(overrides.random ? { random: overrides.random } : {}),
    });
  const worker = new SyncWorker({
    store: fencedResults(store, fence),
    destination,
    targets: config.targets,
    audiences: new Map(config.audiences.map((a) => [a.key, a])),
    clock,
    limiter,
    policy,
    bus,
    concurrency: cordial.concurrency,
    ...(overrides.random ? { random: overrides.random } : {}),
    ...(bulk ? { bulk } : {}),
  });
  const onError = (what: string) => (error: unknown) =>
    logger.error({ err: error }, `${what} failed; it will be retried`);
  const sender = new Scheduler({
    nextWakeAt: () => store.sync.nextDueAt(destination.name),
    runDue: async () => {
      const n = await worker.sendDue();
      // What sendDue just planned as jobs is submitted now, not at the jobs' next timer.
      jobs?.rearm();
      return n;
    },
    clock,
    onError: onError('cordial send'),
    maxDelayMs: 1_000,
  });
  // Jobs are submitted and polled on their own timer; what a job releases goes to the sender.
  const jobs =
    bulk &&
    new Scheduler({
      nextWakeAt: () => bulk.nextAt(),
      runDue: async () => {
        const touched = await bulk.step();
        if (touched > 0) sender.rearm();
        return touched;
      },
      clock,
      onError: onError('cordial bulk jobs'),
      maxDelayMs: 5_000,
    });
  let rematchedAt = -Infinity;
  let started = false;
  let sending = false;
  const puller = new Runner(
    async () => {
      while ((await worker.pull()) > 0);
      // Members who entered without a usable identifier are re-checked every few seconds.
      if (clock.now() - rematchedAt >= REMATCH_EVERY_MS) {
        rematchedAt = clock.now();
        await worker.rematch();
      }
      // The sender starts once the outbox has been read: a backlog then goes as import jobs, not
      // one contact at a time while it is still being read.
      if (started && !sending) {
        sending = true;
        sender.start();
      } else sender.rearm();
      jobs?.rearm();
    },
    onError('reading the change outbox'),
    safetyNetMs,
  );
  // Changes may be committed by the processor in another process: its signal says when.
  let unlisten: (() => void) | undefined;
  let stopped = false;
  /** Sends what is due, then runs import jobs until they end (what they release goes one contact at a time). */
  const drain = async (): Promise<void> => {
    while ((await worker.sendDue()) > 0);
    for (let next = await bulk?.nextAt(); bulk && next != null; next = await bulk.nextAt()) {
      await sleep(Math.max(0, next - clock.now()));
      while ((await bulk.step()) > 0);
      while ((await worker.sendDue()) > 0);
    }
    await recorder.flush();
  };

  return {
    worker,
    destination,
    bulk,
    start() {
      started = true;
      unlisten ??= store.signals.on('changes', () => puller.poke());
      puller.start();
      jobs?.start();
    },
    async settle() {
      await puller.idle();
      while ((await worker.pull()) > 0);
      await worker.rematch(Number.MAX_SAFE_INTEGER);
      await drain();
    },
    verify: async (audience) => {
      const readBack = { policy, limiter, clock, sleep, ...(overrides.random ? { random: overrides.random } : {}) };
      const accountId = cordial.bulk?.accountId;
      // Large lists are read back by one export each, written to the bucket; without a bucket
      // (or the account id the export needs) every contact is read one by one.
      const byExport =
        cordial.bulk && s3 && accountId !== undefined
          ? {
              threshold: cordial.bulk.threshold,
              exportList: (list: string, identifier: string) =>
                exportList(list, identifier, {
                  ...readBack,
                  destination: new CordialExports({ client, clock, gate, accountId }),
                  files: s3,
                  bus,
                  pollIntervalMs: cordial.bulk!.pollIntervalMs,
                  stallAfterMs: cordial.bulk!.stallAfterMs,
                  newToken,
                }),
            }
          : undefined;
      const report = await verify(store, destination, {
        ...readBack,
        ...(byExport ? { byExport } : {}),
        ...(audience === undefined ? {} : { audience }),
      });
      await recorder.flush();
      return report;
    },
    drain,
    async pause() {
      started = false;
      sending = false;
      unlisten?.();
      unlisten = undefined;
      await puller.stop();
      await sender.stop();
      await jobs?.stop();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      unlisten?.();
      unlisten = undefined;
      await puller.stop();
      await sender.stop();
      await jobs?.stop();
      await client.close();
      s3?.client.destroy();
      await recorder.flush();
    },
  };
}

/** The store with send results written only while the lease that allowed the sends is still held. */
function fencedResults(store: Store, fence: () => void): Store {
  const results: Store['sync']['results'] = (...args) => {
    fence();
    return store.sync.results(...args);
  };
  return { ...store, sync: { ...store.sync, results } };
}
