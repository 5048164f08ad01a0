// ---------------------------------------------------------------------------------------------
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createApp } from '../../src/app/app.ts';
import { compileAudiences } from '../../src/audiences/index.ts';
import { audienceSet } from '../../src/engine/audience-stage.ts';
import { SEGMENT_EVENTS } from '../../src/sources/customerio/messages.ts';
import type { Bus } from '../../src/engine/events.ts';
import { Processor } from '../../src/engine/processor.ts';
import type { IncomingEvent } from '../../src/ingest/event.ts';
import type { Message } from '../../src/ingest/messages.ts';
import { EventBus } from '../../src/shared/bus.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { exampleConfig, gc } from '../engine/setup.ts';
import { fmt, mb, sleep, startProfiler, summarizeProfile, wall } from '../lib.ts';
import { Rng } from '../generate/index.ts';
import type { Dist } from './common.ts';
import { HOUR, dist } from './common.ts';
import type { Options } from './options.ts';
import type { BenchPostgres } from '../postgres.ts';
import { openBenchPostgres } from '../postgres.ts';
import type { StoreKind } from '../lib.ts';

export interface PartB {
  wakeups: number;
  due: number;
  windowSeconds: number;
  neededPerSec: number;
  appendSeconds: number;
  processSeconds: number;
  processRate: number;
  leadSeconds: number;
  slackSeconds: number;
  pastDueAtStart: number;
  exits: number;
  enters4to24: number;
  lateness: Dist;
  commitLateness: Dist;
  firstExitToLastSeconds: number;
  wakeRate: number;
  cpuMicrosPerWake: number;
  /** Process CPU time / wall time between the first and last exit (1 = one core saturated). */
  cpuBusy: number;
  rssPeakMb: number;
}

const productAdded = (i: number, timestamp: number, receivedAt: number): IncomingEvent => {
  const message = {
    type: 'track',
    event: 'Product Added',
    anonymousId: `wake-${i}`,
    messageId: `wake-${i}`,
    timestamp: new Date(timestamp).toISOString(),
    properties: { product_id: '7301000123', category: 'Skincare', collection: 'new', price: 38, quantity: 1 },
  };
  return {
    sourceId: 'web',
    messageId: message.messageId,
    type: 'track',
    userId: null,
    anonymousId: message.anonymousId,
    name: 'Product Added',
    timestamp,
    receivedAt,
    message: message as unknown as Message,
  };
};

/** Events/s the processor manages on this workload (one Product Added per new profile), measured on a throwaway store. */
async function pilotRate(
  config: ReturnType<typeof exampleConfig>,
  dir: string,
  kind: StoreKind,
): Promise<{ append: number; process: number }> {
  const path = join(dir, 'pilot.db');
  const pg = kind === 'postgres' ? await openBenchPostgres() : undefined;
  const store = pg?.store ?? createSqliteStore(path);
  const n = 30_000;
  const t0 = Date.now();
  let started = performance.now();
  for (let i = 0; i < n; i += 10_000) {
    await store.events.append(
      Array.from({ length: 10_000 }, (_, k) => productAdded(i + k, t0 - HOUR + k, t0)),
    );
  }
  const append = n / ((performance.now() - started) / 1000);
  const bus: Bus = new EventBus();
  let k = 0;
  const processor = new Processor({
    store,
    policy: config.identity,
    bus,
    audiences: audienceSet(compileAudiences(config.audiences), config.audiences, SEGMENT_EVENTS),
    newProfileId: () => `pilot${++k}`,
  });
  started = performance.now();
  await processor.drain();
  const process = n / ((performance.now() - started) / 1000);
  await store.close();
  await pg?.drop();
  rmSync(path, { force: true });
  return { append, process };
}

/** When each set-up profile's 4h window ends (by profile number), and how many wake-ups are pending. */
async function setUpDeadlines(
  n: number,
  source: { pg: BenchPostgres } | { path: string },
): Promise<{ byProfile: Float64Array; pending: number }> {
  const byProfile = new Float64Array(n + 1).fill(NaN);
  const take = (r: { profile_id: string; ts: number }) =>
    (byProfile[Number(r.profile_id.slice(1))] = r.ts + 4 * HOUR);
  if ('pg' in source) {
    const { sql } = source.pg;
    await sql<{ profile_id: string; ts: number }[]>`
      SELECT p.profile_id, e.ts FROM profile_events p JOIN events e ON e.seq = p.seq`.cursor(
      10_000,
      (rows) => void rows.forEach(take),
    );
    const [row] = await sql<{ n: number }[]>`
      SELECT count(*)::integer AS n FROM profile_state WHERE wake_at IS NOT NULL`;
    return { byProfile, pending: row!.n };
  }
  const reader = new Database(source.path, { readonly: true });
  try {
    for (const r of reader
      .prepare<[], { profile_id: string; ts: number }>(
        'SELECT p.profile_id, e.ts FROM profile_events p CROSS JOIN events e ON e.seq = p.seq',
      )
      .iterate())
      take(r);
    const pending = reader
      .prepare<[], { n: number }>('SELECT count(*) AS n FROM profile_state WHERE wake_at IS NOT NULL')
      .get()!.n;
    return { byProfile, pending };
  } finally {
    reader.close();
  }
}

export async function partB(dir: string, opts: Options): Promise<PartB> {
  const n = opts.wakeups;
  const windowMs = opts.window * 1000;
  const path = join(dir, 'wakeups.db');
  const config = exampleConfig(path);
  const pilot = await pilotRate(config, dir, opts.store);
  // The processor slows as its tables grow; size the lead time generously.
  const estimate = n / pilot.append + (n / pilot.process) * 1.6;
  const leadSeconds = Math.ceil(estimate + 15);
  console.log(
    `B: pilot ${fmt(pilot.append)} appends/s, ${fmt(pilot.process)} events/s processed; set-up estimate ${fmt(estimate)} s, first deadline in ${leadSeconds} s`,
  );

  let k = 0;
  const pg = opts.store === 'postgres' ? await openBenchPostgres() : undefined;
  const app = createApp({ config, newProfileId: () => `w${++k}`, ...(pg ? { store: pg.store } : {}) });
  const firstDeadline = Date.now() + leadSeconds * 1000;
  const rng = new Rng('wakeups');
  const deadlines = new Float64Array(n);
  let due = 0;
  let started = performance.now();
  for (let i = 0; i < n; i += 10_000) {
    const chunk: IncomingEvent[] = [];
    const receivedAt = Date.now();
    for (let j = i; j < Math.min(n, i + 10_000); j++) {
      // `--due` of them fall in the window; the rest stay pending, due hours after it.
      const inWindow = rng.next() * n < opts.due;
      const deadline = inWindow
        ? firstDeadline + Math.floor(rng.next() * windowMs)
        : firstDeadline + windowMs + 10 * 60_000 + Math.floor(rng.next() * 3 * HOUR);
      if (inWindow) due++;
      deadlines[j] = deadline;
      chunk.push(productAdded(j, deadline - 4 * HOUR, receivedAt));
    }
    await app.store.events.append(chunk);
  }
  const appendSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const processed = await app.processor.drain();
  const processSeconds = (performance.now() - started) / 1000;
  if (processed !== n) throw new Error(`processed ${processed} of ${n} set-up events`);

  // Profile w<k> was created by the k-th event only if the log was processed in order: check it.
  const { byProfile, pending } = await setUpDeadlines(n, pg ? { pg } : { path });
  console.log(
    `B: set-up done: ${fmt(n)} events appended in ${fmt(appendSeconds, 1)} s, processed in ${fmt(processSeconds, 1)} s (${fmt(n / processSeconds)} events/s); ${fmt(pending)} wake-ups pending`,
  );
  const slackSeconds = (firstDeadline - Date.now()) / 1000;
  let pastDueAtStart = 0;
  const startAt = Date.now();
  for (let i = 0; i < n; i++) if (deadlines[i]! <= startAt) pastDueAtStart++;
  if (pastDueAtStart > 0) {
    console.log(
      `B: WARNING set-up overran: ${fmt(pastDueAtStart)} deadlines had passed before the scheduler started; their lateness includes set-up`,
    );
  }

  const lateness: number[] = [];
  const commitLateness: number[] = [];
  let enters4to24 = 0;
  let firstExit = Infinity;
  let lastExit = -Infinity;
  let rssPeak = 0;
  let unknown = 0;
  // Process CPU between the first and the last exit: per exit, and how busy the process was.
  let cpuAtFirst: NodeJS.CpuUsage | undefined;
  let cpuAtLast: NodeJS.CpuUsage | undefined;
  app.bus.on('engine.changes', ({ changes }) => {
    const at = wall();
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (changes.length > 0) {
      cpuAtFirst ??= process.cpuUsage();
      cpuAtLast = process.cpuUsage();
    }
    for (const c of changes) {
      if (c.audience === 'cart_4_24h' && c.change === 'enter') enters4to24++;
      if (c.audience !== 'cart_0_4h' || c.change !== 'exit') continue;
      const deadline = byProfile[Number(c.profileId.slice(1))];
      if (deadline === undefined || Number.isNaN(deadline)) {
        unknown++;
        continue;
      }
      lateness.push(c.at - deadline);
      commitLateness.push(at - deadline);
      firstExit = Math.min(firstExit, at);
      lastExit = Math.max(lastExit, at);
    }
  });
  gc();
  console.log(
    `B: scheduler started ${fmt(slackSeconds, 1)} s before the first deadline; deadlines span ${opts.window} s`,
  );
  const profiler = opts.profile ? await startProfiler() : undefined;
  app.start();
  const giveUp = firstDeadline + windowMs + 600_000;
  while (lateness.length + unknown < due && Date.now() < giveUp) await sleep(250);
  const cpuMicros =
    cpuAtFirst && cpuAtLast ? cpuAtLast.user + cpuAtLast.system - cpuAtFirst.user - cpuAtFirst.system : NaN;
  if (profiler && opts.profile) {
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    const file = opts.profile.replace(/(\.cpuprofile)?$/, '-b.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    console.log(`wrote ${file}`);
    summarizeProfile(profile, 'wake-ups (part B, whole scheduler phase incl. idle)');
  }
  await app.stop();
  await pg?.drop();
  if (unknown > 0) console.log(`B: ${unknown} exits of profiles not in the set-up map`);
  const exits = lateness.length;
  return {
    wakeups: n,
    windowSeconds: opts.window,
    due,
    neededPerSec: due / opts.window,
    appendSeconds,
    processSeconds,
    processRate: n / processSeconds,
    leadSeconds,
    slackSeconds,
    pastDueAtStart,
    exits,
    enters4to24,
    lateness: dist(lateness),
    commitLateness: dist(commitLateness),
    firstExitToLastSeconds: (lastExit - firstExit) / 1000,
    wakeRate: exits / Math.max(0.001, (lastExit - firstExit) / 1000),
    cpuMicrosPerWake: cpuMicros / Math.max(1, exits),
    cpuBusy: cpuMicros / 1000 / Math.max(1, lastExit - firstExit),
    rssPeakMb: mb(rssPeak),
  };
}
