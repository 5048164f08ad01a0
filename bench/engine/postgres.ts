// `bench:engine -- --store postgres`: the same drain on a PostgreSQL store, in a child process of
// its own, with the log copied (untimed) from the SQLite log the benchmark generated.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileAudiences } from '../../src/audiences/index.ts';
import type { Config } from '../../src/config/load.ts';
import { audienceSet } from '../../src/engine/audience-stage.ts';
import type { Bus } from '../../src/engine/events.ts';
import { Processor } from '../../src/engine/processor.ts';
import { SEGMENT_EVENTS } from '../../src/sources/customerio/messages.ts';
import { EventBus } from '../../src/shared/bus.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import type { EventColumns } from '../../src/ingest/event.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Phases } from '../drain-phases.ts';
import { describePhases, timePhases } from '../drain-phases.ts';
import { fmt } from '../lib.ts';
import type { BenchPostgres } from '../postgres.ts';
import { openBenchPostgres } from '../postgres.ts';
import { sequentialProfileIds } from './drain.ts';
import { APPEND_CHUNK, WARM_UP_EVENTS, exampleConfig, gc } from './setup.ts';

export interface PostgresDrain {
  events: number;
  seconds: number;
  copySeconds: number;
  changes: number;
  merges: number;
  cpuSeconds: number;
  rssPeak: number;
  phases: Phases;
  /** Members per audience right after the drain, and after one ranking refresh. */
  drained: Map<string, Set<string>>;
  members: Map<string, Set<string>>;
  refresh: { seconds: number; changes: number };
}

interface Job {
  logPath: string;
  batch: number;
  now: number;
}

/** Copies the first `limit` events of the SQLite log into the PostgreSQL store, in order. */
async function copyLog(logPath: string, pg: BenchPostgres, limit = Infinity): Promise<number> {
  const log = createSqliteStore(logPath);
  let after = 0;
  let copied = 0;
  while (copied < limit) {
    const page = await log.events.readAfter(after, Math.min(APPEND_CHUNK, limit - copied));
    if (page.length === 0) break;
    const rows: EventColumns[] = page.map((e) => [
      e.sourceId,
      e.messageId,
      e.type,
      e.userId,
      e.anonymousId,
      e.name,
      e.timestamp,
      e.receivedAt,
      e.body ?? JSON.stringify(e.message),
    ]);
    await pg.store.events.appendColumns!(rows);
    copied += page.length;
    after = page.at(-1)!.offset;
  }
  await log.close();
  return copied;
}

async function members(pg: BenchPostgres): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const r of await pg.sql<{ audience: string; profile_id: string }[]>`
    SELECT audience, profile_id FROM memberships`) {
    let set = out.get(r.audience);
    if (!set) out.set(r.audience, (set = new Set()));
    set.add(r.profile_id);
  }
  return out;
}

async function drain(config: Config, job: Job, warmUp: boolean): Promise<PostgresDrain> {
  const pg = await openBenchPostgres();
  try {
    let started = performance.now();
    await copyLog(job.logPath, pg, warmUp ? WARM_UP_EVENTS : Infinity);
    const copySeconds = (performance.now() - started) / 1000;
    await pg.sql`ANALYZE`;
    const bus: Bus = new EventBus((error) => {
      throw error;
    });
    const processor = new Processor({
      store: pg.store,
      policy: config.identity,
      bus,
      clock: new ManualClock(job.now),
      audiences: audienceSet(compileAudiences(config.audiences), config.audiences, SEGMENT_EVENTS),
      newProfileId: sequentialProfileIds(),
      batchSize: job.batch,
    });
    let changes = 0;
    let merges = 0;
    let rssPeak = 0;
    bus.on('engine.changes', (e) => (changes += e.changes.length));
    bus.on('processor.batch', (e) => {
      merges += e.merges;
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    });
    gc();
    const timing = timePhases(pg.store);
    const cpuBefore = process.cpuUsage();
    started = performance.now();
    const events = await processor.drain();
    const seconds = (performance.now() - started) / 1000;
    const phases = timing.stop();
    const cpu = process.cpuUsage(cpuBefore);
    const drained = await members(pg);
    started = performance.now();
    const refreshChanges = await processor.refreshRankings();
    const refresh = { seconds: (performance.now() - started) / 1000, changes: refreshChanges };
    return {
      events,
      seconds,
      copySeconds,
      changes,
      merges,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssPeak,
      phases,
      drained,
      members: await members(pg),
      refresh,
    };
  } finally {
    await pg.drop();
  }
}

const CHILD = '--postgres-drain-child';

type Sent = Omit<PostgresDrain, 'drained' | 'members'> & {
  drained: [string, string[]][];
  members: [string, string[]][];
};
const send = (m: Map<string, Set<string>>): [string, string[]][] => [...m].map(([k, v]) => [k, [...v]]);
const receive = (m: [string, string[]][]): Map<string, Set<string>> =>
  new Map(m.map(([k, v]) => [k, new Set(v)]));

/** A warm-up drain of the log's first events, then the measured drain of all of it, in a child. */
export function drainPostgresInChild(job: Job): Promise<PostgresDrain> {
  const child = fork(fileURLToPath(import.meta.url), [CHILD], { execArgv: process.execArgv });
  const sent = new Promise<Sent>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Sent));
    child.once('exit', (code) =>
      reject(new Error(`the PostgreSQL drain exited (code ${code}) before it reported`)),
    );
  });
  child.send(job);
  return sent.then((r) => ({ ...r, drained: receive(r.drained), members: receive(r.members) }));
}

async function child(): Promise<void> {
  const job = await new Promise<Job>((resolve) => process.once('message', (m) => resolve(m as Job)));
  const config = exampleConfig(join(dirname(job.logPath), 'unused.db'));
  await drain(config, job, true);
  const r = await drain(config, job, false);
  const sent: Sent = { ...r, drained: send(r.drained), members: send(r.members) };
  await new Promise<void>((resolve, reject) =>
    process.send!(sent, (error: Error | null) => (error ? reject(error) : resolve())),
  );
  process.disconnect();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === CHILD)
  await child();

const TARGET_RATIO = 0.5;

/**
 * Prints the PostgreSQL drain beside SQLite's, with its members against the SQL recompute, and
 * returns the problems (members that disagree).
 */
export function reportPostgresDrain(
  pg: PostgresDrain,
  sqlite: { rate: number; batch: number },
  disagree: { afterDrain: string[]; afterRefresh: string[] },
): string[] {
  const rate = pg.events / pg.seconds;
  const ratio = rate / sqlite.rate;
  console.log(
    `PostgreSQL, batch ${fmt(sqlite.batch)}: engine ${fmt(rate)} events/s (${fmt(pg.events)} events, ${fmt(pg.changes)} changes, ${fmt(pg.merges)} merges in ${fmt(pg.seconds, 2)} s; CPU ${fmt(pg.cpuSeconds / pg.seconds, 2)} cores in Node)\n  ${describePhases(pg.phases, pg.seconds)}`,
  );
  const agree = (keys: string[]): string =>
    keys.length === 0 ? 'all 13 agree' : `${keys.length} disagree: ${keys.join(', ')}`;
  console.log(
    [
      '',
      `| PostgreSQL, batch ${fmt(sqlite.batch)}, ${fmt(pg.events)} events | |`,
      '|---|---|',
      `| engine on PostgreSQL | ${fmt(rate)} events/s, ${fmt(pg.changes / pg.seconds)} changes/s (${fmt(pg.seconds, 2)} s; log copied in ${fmt(pg.copySeconds, 1)} s, untimed) |`,
      `| engine on SQLite, same run | ${fmt(sqlite.rate)} events/s |`,
      `| PostgreSQL / SQLite | ${fmt(ratio, 2)} (target ≥ ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}) |`,
      `| memberships, PostgreSQL engine vs SQL, right after the drain | ${agree(disagree.afterDrain)} |`,
      `| memberships, PostgreSQL engine vs SQL, after one ranking refresh (${fmt(pg.refresh.seconds, 2)} s) | ${agree(disagree.afterRefresh)} |`,
      '',
    ].join('\n'),
  );
  console.log(
    JSON.stringify({
      store: 'postgres',
      eventsPerSec: Math.round(rate),
      sqliteEventsPerSec: Math.round(sqlite.rate),
      ratio: Number(ratio.toFixed(3)),
      seconds: Number(pg.seconds.toFixed(2)),
      merges: pg.merges,
      disagree: disagree.afterRefresh,
    }),
  );
  return disagree.afterRefresh.map((key) => `PostgreSQL: ${key} members differ from the SQL recompute`);
}
