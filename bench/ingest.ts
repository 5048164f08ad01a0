/**
 * `npm run bench:ingest [-- --events N --clients C --batch B]`
 *
 * Ingest throughput of a real Handoff server over loopback, against the embedded store's ceiling:
 *
 * 1. Generates N D2C events (bench/generate.ts) and serialises them into `/v1/batch` bodies of B
 *    events up front, so generation is not measured.
 * 2. Starts Handoff in this process on a fresh temp SQLite file (one source, write key passed
 *    through the env map given to parseConfig; the processor is not started) and sends the bodies
 *    from C concurrent loops of undici's `request` (`fetch` cost the shared CPUs ~3 µs an event,
 *    `request` under 1). The loops run on a worker thread, as remote clients would not share the
 *    server's event loop; `--same-thread` runs them on the server's thread instead.
 *    Every response must be a 200 accepting the whole batch, and the stored rows must equal N.
 * 3. Baseline, same run: the stored rows are read back and inserted into a second fresh file
 *    opened with the same openSqlite (same pragmas) using the store's INSERT, B rows per
 *    transaction, timed: the raw better-sqlite3 rate the event log cannot beat.
 * 4. The same rows into a third file whose event table has the UNIQUE (source_id, message_id)
 *    index the log used for dedupe before event_ids: the former ceiling, to compare with older runs.
 *
 * Prints events/s acknowledged, p50/p99 request latency, peak RSS, the raw rate and the ratio,
 * the CPU each thread used (server main thread, ingest parse workers, clients, GC and other helper
 * threads; Linux only) with the load average the run started under, a Markdown table for the
 * README and a one-line JSON summary. Temp files are removed.
 * `--parse-workers N` sets the server's ingest parse workers (0: parse on the main thread), to
 * compare with its default (one less than the CPUs).
 * `--profile [file.cpuprofile]` CPU-profiles the server's thread during the ingest phase only,
 * writes the profile (open it in Chrome DevTools or speedscope) and prints the top self-time
 * functions; the sampler costs a few percent, so profiled runs are not for the README.
 * `--store postgres` ingests into a fresh schema of the PostgreSQL database at
 * HANDOFF_TEST_DATABASE_URL (default: the local server's `test` database) and compares with a raw
 * multi-row `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING` of the same rows into a second one.
 * `--store postgres --processes 1,2,3` sends the same bodies round-robin to N real `handoff serve
 * --roles ingest` processes on one fresh schema instead, for each N in turn, each with the raw insert
 * baseline and the serve processes' CPU an event (bench/ingest/processes.ts).
 * Exit status 1 when a request failed or the row count is wrong (not for missing the target).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isMainThread } from 'node:worker_threads';
import { createApp } from '../src/app/app.ts';
import { serverServices } from '../src/app/services.ts';
import { parseConfig } from '../src/config/load.ts';
import { MAX_REQUEST_BYTES } from '../src/ingest/messages.ts';
import { buildServer } from '../src/server/server.ts';
import { openSqlite } from '../src/store/sqlite/database.ts';
import { generateEvents } from './generate/index.ts';
import { fmt, mb, percentile, summarizeProfile } from './lib.ts';
import type { Row } from './ingest/baseline.ts';
import {
  EVENT_INSERT,
  UNIQUE_BASELINE_PRAGMAS,
  UNIQUE_EVENTS_TABLE,
  checkInsertMatchesStore,
} from './ingest/baseline.ts';
import { cpuByThread, cpuSplit } from './ingest/cpu.ts';
import { options } from './ingest/options.ts';
import { reportPostgres } from './ingest/postgres.ts';
import { ingestThroughProcesses } from './ingest/processes.ts';
import { openBenchPostgres } from './postgres.ts';
import type { ClientJob, ClientResult } from './ingest/worker-client.ts';
import { sendAll, sendFromWorker } from './ingest/worker-client.ts';

const TARGET_EVENTS_PER_SEC = 50_000;
const TARGET_RATIO = 0.5;

async function main(): Promise<void> {
  const opts = options();
  checkInsertMatchesStore();
  const { events: n, clients, batch } = opts;
  console.log(
    `handoff ingest benchmark: ${fmt(n)} events, ${clients} clients (${opts.sameThread ? 'server thread' : 'worker thread'}), ${batch}-event batches, ${opts.parseWorkers === undefined ? 'default' : opts.parseWorkers} ingest parse workers; node ${process.version}, ${cpus().length} CPUs`,
  );

  // 1. Generate and serialise, unmeasured.
  let started = performance.now();
  const encoder = new TextEncoder();
  const bodies: Uint8Array[] = [];
  const counts: number[] = [];
  const mix = new Map<string, number>();
  let pending: unknown[] = [];
  let totalBytes = 0;
  let largest = 0;
  const flush = (): void => {
    const body = encoder.encode(JSON.stringify({ batch: pending }));
    if (body.byteLength > MAX_REQUEST_BYTES) {
      throw new Error(
        `a ${pending.length}-event body is ${fmt(body.byteLength)} bytes, over Handoff's ${fmt(MAX_REQUEST_BYTES)}-byte request limit; use a smaller --batch`,
      );
    }
    bodies.push(body);
    counts.push(pending.length);
    totalBytes += body.byteLength;
    largest = Math.max(largest, body.byteLength);
    pending = [];
  };
  const generated = generateEvents({
    events: n,
    seed: opts.seed,
    ...(opts.profiles ? { profiles: opts.profiles } : {}),
  });
  for (const message of generated) {
    const kind = message.type === 'track' ? message.event! : message.type;
    mix.set(kind, (mix.get(kind) ?? 0) + 1);
    pending.push(message);
    if (pending.length === batch) flush();
  }
  if (pending.length > 0) flush();
  console.log(
    `generated in ${fmt((performance.now() - started) / 1000, 1)} s: ${fmt(bodies.length)} requests, ${fmt(mb(totalBytes), 1)} MB (${fmt(totalBytes / n)} B/event, largest body ${fmt(largest / 1024)} KB)`,
  );
  console.log(
    `mix: ${[...mix]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${fmt((100 * v) / n, 1)}%`)
      .join(', ')}`,
  );

  if (opts.processes) {
    process.exitCode = await ingestThroughProcesses({
      bodies,
      counts,
      n,
      batch,
      clients,
      processes: opts.processes,
    });
    return;
  }

  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const interrupted = (signal: NodeJS.Signals): void => {
    cleanup();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    // 2. Ingest through the server.
    const ingestPath = join(dir, 'ingest.db');
    const writeKey = `bench-${randomBytes(8).toString('hex')}`;
    const config = parseConfig(
      [
        'server: { host: 127.0.0.1, port: 0 }',
        `storage: { sqlite: { path: ${JSON.stringify(ingestPath)} } }`,
        'sources:',
        '  - { id: bench, kind: segment, writeKey: { env: HANDOFF_BENCH_WRITE_KEY } }',
      ].join('\n'),
      'bench.yaml',
      { HANDOFF_BENCH_WRITE_KEY: writeKey },
    );
    if (!config.ok) throw new Error(config.error.message);
    const pg = opts.store === 'postgres' ? await openBenchPostgres() : undefined;
    const app = createApp({ config: config.value, ...(pg ? { store: pg.store } : {}) });
    const server = buildServer(
      serverServices(app),
      opts.parseWorkers === undefined ? {} : { ingestParse: { workers: opts.parseWorkers } },
    );
    const base = await server.listen({ port: 0, host: '127.0.0.1' });
    const job: ClientJob = {
      urls: [`${base}/v1/batch`],
      authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
      bodies,
      counts,
      clients,
    };

    let send: () => Promise<ClientResult>;
    if (opts.sameThread) send = () => sendAll(job);
    else {
      const worker = sendFromWorker(job);
      await worker.ready;
      send = worker.go;
    }
    let profiler: Session | undefined;
    if (opts.profile !== undefined) {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
      await profiler.post('Profiler.start');
    }
    global.gc?.();
    const rssBefore = process.memoryUsage.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 50);
    const cpuBefore = process.cpuUsage();
    const threadsBefore = cpuByThread();
    const loadBefore = loadavg()[0]!;
    const serverLoopBefore = performance.eventLoopUtilization();
    started = performance.now();
    const result = await send();
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const split = cpuSplit(threadsBefore, cpuByThread(), seconds, result.threadId);
    const serverLoopBusy = performance.eventLoopUtilization(serverLoopBefore).utilization;
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (profiler && opts.profile) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      writeFileSync(opts.profile, JSON.stringify(profile));
      console.log(`wrote ${opts.profile}`);
      summarizeProfile(profile, 'server-thread');
    }
    await server.close();
    await app.stop();
    bodies.length = 0;

    const latencies = result.latencies.filter((x) => !Number.isNaN(x)).sort();
    const rate = n / seconds;
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const cpuCores = (cpu.user + cpu.system) / 1e6 / seconds;
    console.log(
      `ingest: ${fmt(rate)} events/s acknowledged (${fmt(result.acknowledged)} in ${fmt(seconds, 2)} s); latency p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms; RSS ${fmt(mb(rssBefore))} MB before, ${fmt(mb(rssPeak))} MB peak; CPU ${fmt(cpuCores, 2)} cores busy (${fmt((1e6 * cpuCores * seconds) / n, 1)} µs of CPU an event, clients included); event loop busy: server ${fmt(100 * serverLoopBusy)}%, clients ${fmt(100 * result.loopBusy)}%`,
    );
    if (split) {
      const total = split.main + split.started + split.other + (opts.sameThread ? 0 : split.clients);
      console.log(
        `CPU by thread, in cores: server main thread ${fmt(split.main, 2)}, threads started during the run (ingest parse workers: ${split.startedThreads}) ${fmt(split.started, 2)}, clients ${fmt(split.clients, 2)}${opts.sameThread ? ' (the main thread)' : ''}, other threads (GC, libuv) ${fmt(split.other, 2)}; ${fmt(total, 2)} of ${cpus().length} CPUs. Load average (1 min) when the run started: ${fmt(loadBefore, 2)}`,
      );
    }
    if (pg) {
      process.exitCode = await reportPostgres({ pg, n, rate, batch, p99, failures: result.failures });
      return;
    }
    const reader = new Database(ingestPath, { readonly: true });
    const stored = (reader.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    const problems = [...result.failures.slice(0, 5)];
    if (result.failures.length > 5) problems.push(`… and ${result.failures.length - 5} more failed requests`);
    if (stored !== n) problems.push(`stored ${fmt(stored)} rows, expected ${fmt(n)}`);

    // 3. Baseline: the same rows, the same pragmas and INSERT, B rows per transaction.
    const rows = reader
      .prepare(
        'SELECT source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body FROM events ORDER BY seq',
      )
      .raw()
      .all() as Row[];
    reader.close();
    global.gc?.();
    const rawPath = join(dir, 'raw.db');
    const raw = openSqlite(rawPath);
    const insert = raw.prepare(EVENT_INSERT);
    const insertChunk = raw.transaction((chunk: Row[]) => {
      for (const row of chunk) insert.run(...row);
    });
    started = performance.now();
    for (let i = 0; i < rows.length; i += batch) insertChunk(rows.slice(i, i + batch));
    const rawSeconds = (performance.now() - started) / 1000;
    const rawStored = (raw.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    raw.close();
    if (rawStored !== rows.length)
      problems.push(`baseline stored ${fmt(rawStored)} rows of ${fmt(rows.length)}`);
    const rawRate = rows.length / rawSeconds;
    const ratio = rate / rawRate;
    console.log(
      `raw better-sqlite3: ${fmt(rawRate)} rows/s (${fmt(rows.length)} rows in ${fmt(rawSeconds, 2)} s, ${batch} per transaction); ingest/raw ${fmt(ratio, 2)}`,
    );

    // 4. The same rows into the event table as it was with UNIQUE (source_id, message_id), the
    // former dedupe: the ceiling the event log had before, for comparing with earlier figures.
    const unique = new Database(join(dir, 'unique.db'));
    for (const pragma of UNIQUE_BASELINE_PRAGMAS) unique.pragma(pragma);
    unique.exec(UNIQUE_EVENTS_TABLE);
    const insertOrIgnore = unique.prepare(EVENT_INSERT.replace('INSERT INTO', 'INSERT OR IGNORE INTO'));
    const insertUniqueChunk = unique.transaction((chunk: Row[]) => {
      for (const row of chunk) insertOrIgnore.run(...row);
    });
    global.gc?.();
    started = performance.now();
    for (let i = 0; i < rows.length; i += batch) insertUniqueChunk(rows.slice(i, i + batch));
    const uniqueRate = rows.length / ((performance.now() - started) / 1000);
    unique.close();
    const uniqueRatio = rate / uniqueRate;
    console.log(
      `raw better-sqlite3 with the former UNIQUE (source_id, message_id) index: ${fmt(uniqueRate)} rows/s; ingest/that ${fmt(uniqueRatio, 2)}`,
    );

    const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    const summary = {
      events: n,
      clients,
      batch,
      clientThread: opts.sameThread ? 'server' : 'worker',
      parseWorkers: opts.parseWorkers ?? 'default',
      eventsPerSec: Math.round(rate),
      p50Ms: Number(p50.toFixed(1)),
      p99Ms: Number(p99.toFixed(1)),
      peakRssMb: Math.round(mb(rssPeak)),
      rssBeforeMb: Math.round(mb(rssBefore)),
      requestBodiesMb: Math.round(mb(totalBytes)),
      cpuCores: Number(cpuCores.toFixed(2)),
      serverLoopBusy: Number(serverLoopBusy.toFixed(2)),
      clientLoopBusy: Number(result.loopBusy.toFixed(2)),
      cpuByThread: split && {
        serverMain: Number(split.main.toFixed(2)),
        parseWorkers: Number(split.started.toFixed(2)),
        clients: Number(split.clients.toFixed(2)),
        other: Number(split.other.toFixed(2)),
      },
      loadAverageBefore: Number(loadBefore.toFixed(2)),
      rawRowsPerSec: Math.round(rawRate),
      rawUniqueIndexRowsPerSec: Math.round(uniqueRate),
      ratioToUniqueIndex: Number(uniqueRatio.toFixed(3)),
      ratio: Number(ratio.toFixed(3)),
      bytesPerEvent: Math.round(totalBytes / n),
      node: process.version,
      cpus: cpus().length,
      ok: problems.length === 0,
    };
    console.log(
      [
        '',
        `| ${fmt(n)} events, ${clients} clients × ${batch}-event /v1/batch, loopback, ${cpus().length} CPUs | |`,
        '|---|---|',
        `| ingest (acknowledged) | ${fmt(rate)} events/s |`,
        `| request latency | p50 ${fmt(p50, 1)} ms, p99 ${fmt(p99, 1)} ms |`,
        `| peak RSS (server + clients, in one process) | ${fmt(mb(rssPeak))} MB, of which ${fmt(mb(totalBytes))} MB pre-built request bodies |`,
        `| raw better-sqlite3 insert, same rows, ${batch}/transaction | ${fmt(rawRate)} rows/s |`,
        `| ingest / raw | ${fmt(ratio, 2)} |`,
        `| raw insert with the former UNIQUE (source_id, message_id) index | ${fmt(uniqueRate)} rows/s (ingest / that ${fmt(uniqueRatio, 2)}) |`,
        `| target ≥ ${fmt(TARGET_EVENTS_PER_SEC)} events/s; ≥ ${TARGET_RATIO} of raw | ${verdict(rate >= TARGET_EVENTS_PER_SEC)}; ${verdict(ratio >= TARGET_RATIO)} |`,
        '',
      ].join('\n'),
    );
    console.log(JSON.stringify(summary));
    if (problems.length > 0) {
      console.error(`FAILED:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    cleanup();
  }
}

if (isMainThread) await main();
