import Database from 'better-sqlite3';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileAudiences } from '../../src/audiences/index.ts';
import type { Config } from '../../src/config/load.ts';
import { audienceSet } from '../../src/engine/audience-stage.ts';
import { SEGMENT_EVENTS } from '../../src/sources/customerio/messages.ts';
import type { Bus } from '../../src/engine/events.ts';
import { Processor } from '../../src/engine/processor.ts';
import { EventBus } from '../../src/shared/bus.ts';
import { startProfiler, summarizeProfile } from '../lib.ts';
import type { Phases } from '../drain-phases.ts';
import { timePhases } from '../drain-phases.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { uuidv7 } from '../../src/shared/ids.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { engineMembers } from '../sql-baseline.ts';
import { exampleConfig, gc } from './setup.ts';

/**
 * Profile ids as serve mode makes them: uuidv7 at the wall clock. With `--store postgres` both
 * stores get the same predictable ids (creation order, zero-padded), so their members compare.
 */
let profileIds = (): (() => string) => () => uuidv7(Date.now());

/** Ids p000000001, p000000002, … in creation order, the same on every store. */
export const sequentialProfileIds = (): (() => string) => {
  let n = 0;
  return () => `p${String(++n).padStart(9, '0')}`;
};

export interface DrainResult {
  batch: number;
  events: number;
  seconds: number;
  changes: number;
  byAudience: Map<string, { enter: number; exit: number }>;
  merges: number;
  rssBefore: number;
  rssPeak: number;
  cpuSeconds: number;
  path: string;
  /** Members per audience right after the drain, before any ranking refresh. */
  drained: Map<string, Set<string>>;
  /** The one `refreshRankings()` serve mode runs every engine.rankingRefresh, after the drain. */
  refresh: { seconds: number; changes: number };
  phases: Phases;
}

/** A drain of a copy of the log at `logPath` into a store at `path`, `batch` events a step, at `now` (ms); `profileTo` writes a CPU profile. */
interface DrainCopy {
  config: Config;
  logPath: string;
  path: string;
  batch: number;
  now: number;
  profileTo?: string;
}

/** Drains a copy of the log with a Processor wired as app.ts wires it; times the drain only. */
async function drainCopy({ config, logPath, path, batch, now, profileTo }: DrainCopy): Promise<DrainResult> {
  copyFileSync(logPath, path);
  const store = createSqliteStore(path);
  const bus: Bus = new EventBus((error) => {
    throw error;
  });
  const processor = new Processor({
    store,
    policy: config.identity,
    bus,
    clock: new ManualClock(now),
    audiences: audienceSet(compileAudiences(config.audiences), config.audiences, SEGMENT_EVENTS),
    // Profile ids as serve mode makes them: uuidv7 at the wall clock (the ManualClock only
    // decides windows), so profiles created together sit together in the tables.
    newProfileId: profileIds(),
    batchSize: batch,
  });
  let changes = 0;
  let merges = 0;
  const byAudience = new Map<string, { enter: number; exit: number }>();
  bus.on('engine.changes', (e) => {
    changes += e.changes.length;
    for (const c of e.changes) {
      let t = byAudience.get(c.audience);
      if (!t) byAudience.set(c.audience, (t = { enter: 0, exit: 0 }));
      t[c.change]++;
    }
  });
  // RSS is sampled on the processor's own per-batch event, at the end of each batch.
  let rssPeak = 0;
  bus.on('processor.batch', (e) => {
    merges += e.merges;
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  });
  gc();
  const rssBefore = process.memoryUsage.rss();
  rssPeak = rssBefore;
  const profiler = profileTo ? await startProfiler() : undefined;
  const timing = timePhases(store);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const events = await processor.drain();
  const seconds = (performance.now() - started) / 1000;
  const phases = timing.stop();
  const cpu = process.cpuUsage(cpuBefore);
  if (profiler && profileTo) {
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    writeFileSync(profileTo, JSON.stringify(profile));
    console.log(`wrote ${profileTo}`);
    summarizeProfile(profile, `drain (batch ${batch})`);
  }
  // Serve mode re-ranks top-percent audiences on a timer (engine.rankingRefresh): one refresh,
  // timed on its own, so memberships can be compared both before and after it.
  const reader = new Database(path, { readonly: true });
  const drained = engineMembers(reader);
  reader.close();
  const refreshStarted = performance.now();
  const refreshChanges = await processor.refreshRankings();
  const refresh = { seconds: (performance.now() - refreshStarted) / 1000, changes: refreshChanges };
  await store.close();
  return {
    drained,
    refresh,
    phases,
    batch,
    events,
    seconds,
    changes,
    byAudience,
    merges,
    rssBefore,
    rssPeak,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    path,
  };
}

/** One batch size's drain, as a child process is given it. */
interface DrainJob {
  logPath: string;
  /** The log's first events, drained first to warm the JIT. */
  warmPath: string;
  path: string;
  batch: number;
  now: number;
  profileTo: string | undefined;
  /** Predictable profile ids (sequentialProfileIds) instead of uuidv7. */
  sequentialIds?: boolean;
}

/** A DrainResult as it crosses between processes: maps and sets as arrays. */
type SentDrain = Omit<DrainResult, 'byAudience' | 'drained'> & {
  byAudience: [string, { enter: number; exit: number }][];
  drained: [string, string[]][];
};

export const DRAIN_CHILD = '--drain-child';

/** Runs one drain in a child process: each batch size starts from a fresh heap, not the last one's. */
export function drainInChild(job: DrainJob): Promise<DrainResult> {
  const child = fork(fileURLToPath(import.meta.url), [DRAIN_CHILD], { execArgv: process.execArgv });
  const sent = new Promise<SentDrain>((resolve, reject) => {
    child.once('message', (m) => resolve(m as SentDrain));
    child.once('exit', (code) =>
      reject(new Error(`the batch ${job.batch} drain exited (code ${code}) before it reported`)),
    );
  });
  child.send(job);
  return sent.then((r) => ({
    ...r,
    byAudience: new Map(r.byAudience),
    drained: new Map(r.drained.map(([audience, ids]) => [audience, new Set(ids)])),
  }));
}

/** The child's side: a warm-up drain, then the measured one, reported to the parent. */
export async function drainChild(): Promise<void> {
  const job = await new Promise<DrainJob>((resolve) =>
    process.once('message', (m) => resolve(m as DrainJob)),
  );
  const config = exampleConfig(join(dirname(job.path), 'unused.db'));
  if (job.sequentialIds) profileIds = sequentialProfileIds;
  const warmRun = `${job.path}.warm`;
  await drainCopy({ config, logPath: job.warmPath, path: warmRun, batch: job.batch, now: job.now });
  for (const suffix of ['', '-wal', '-shm']) rmSync(warmRun + suffix, { force: true });
  const r = await drainCopy({
    config,
    logPath: job.logPath,
    path: job.path,
    batch: job.batch,
    now: job.now,
    profileTo: job.profileTo,
  });
  const sent: SentDrain = {
    ...r,
    byAudience: [...r.byAudience],
    drained: [...r.drained].map(([audience, ids]) => [audience, [...ids]]),
  };
  await new Promise<void>((resolve, reject) =>
    process.send!(sent, (error: Error | null) => (error ? reject(error) : resolve())),
  );
  process.disconnect();
}

/** The ceiling: reading and decoding the whole log, `perRead` events a read. */
export async function readCeiling(
  logPath: string,
  perRead: number,
): Promise<{ events: number; seconds: number }> {
  const store = createSqliteStore(logPath);
  let events = 0;
  let after = 0;
  const started = performance.now();
  for (;;) {
    const page = await store.events.readAfter(after, perRead);
    const last = page.at(-1);
    if (last === undefined) break;
    for (const e of page) void e.message; // the log read as the engine would, every body decoded
    events += page.length;
    after = last.offset;
  }
  const seconds = (performance.now() - started) / 1000;
  await store.close();
  return { events, seconds };
}

// This file is also the drain child's entry: drainInChild forks it with DRAIN_CHILD.
if (
  process.argv[1] &&
  import.meta.url === pathToFileURL(process.argv[1]).href &&
  process.argv[2] === DRAIN_CHILD
)
  await drainChild();
