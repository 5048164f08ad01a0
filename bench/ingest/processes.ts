// `bench:ingest -- --store postgres --processes 1,2,3`: the same request bodies sent round-robin to
// N real `handoff serve --roles ingest` processes sharing one fresh schema, for each N in turn, each
// followed by the raw PostgreSQL insert of the rows it stored (the baseline, same run). CPU per
// event is the serve processes' CPU (user + system, from /proc) over the events they acknowledged,
// and the clients' beside it; the PostgreSQL server's own CPU is not in it (it is shared with
// whatever else runs on the machine).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { stringify } from 'yaml';
import { openPostgres } from '../../src/store/postgres/database.ts';
import { testDatabaseUrl } from '../../src/store/postgres/testing.ts';
import type { Served } from '../../test/helpers/serve-process.ts';
import { startServe, stopServe } from '../../test/helpers/serve-process.ts';
import { testStorage } from '../../test/helpers/store.ts';
import { fmt, percentile } from '../lib.ts';
import { eventRows, postgresBaseline } from '../postgres.ts';
import { sendFromWorker } from './worker-client.ts';

/** Linux's USER_HZ, the unit of /proc's CPU times. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) process `pid` has used; NaN off Linux. */
function processCpu(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

export interface ProcessesRun {
  bodies: Uint8Array[];
  counts: number[];
  n: number;
  batch: number;
  clients: number;
  processes: number[];
}

interface Figures {
  processes: number;
  eventsPerSec: number;
  p99Ms: number;
  serverUsPerEvent: number;
  clientUsPerEvent: number;
  rawRowsPerSec: number;
}

/** Runs each process count in turn; returns the exit status (1 on a failed request or a wrong count). */
export async function ingestThroughProcesses(run: ProcessesRun): Promise<number> {
  // The serve processes read the test store's variables (HANDOFF_TEST_DATABASE_URL).
  process.env.HANDOFF_TEST_STORE = 'postgres';
  const problems: string[] = [];
  const figures: Figures[] = [];
  for (const count of run.processes) {
    const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-processes-'));
    const storage = testStorage(dir);
    const served: Served[] = [];
    try {
      const writeKey = `bench-${randomBytes(8).toString('hex')}`;
      const configFile = join(dir, 'handoff.yaml');
      writeFileSync(
        configFile,
        stringify({
          storage: storage.section,
          sources: [{ id: 'bench', kind: 'segment', writeKey: { env: 'HANDOFF_BENCH_WRITE_KEY' } }],
        }),
      );
      // One at a time: the first applies the migrations.
      for (let i = 0; i < count; i++)
        served.push(
          await startServe(
            configFile,
            { HANDOFF_BENCH_WRITE_KEY: writeKey },
            { args: ['--roles', 'ingest'], timeoutMs: 60_000 },
          ),
        );
      // The worker takes the bodies' buffers: each run sends copies.
      const bodies = run.bodies.map((b) => b.slice());
      const worker = sendFromWorker({
        urls: served.map((s) => `${s.address}/v1/batch`),
        authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`,
        bodies,
        counts: run.counts,
        clients: run.clients,
      });
      await worker.ready;
      const load = loadavg()[0]!;
      const serverBefore = served.map((s) => processCpu(s.child.pid));
      const clientBefore = process.cpuUsage();
      const started = performance.now();
      const result = await worker.go();
      const seconds = (performance.now() - started) / 1000;
      const serverCpu = served.reduce((sum, s, i) => sum + processCpu(s.child.pid) - serverBefore[i]!, 0);
      const clientCpu = (() => {
        const u = process.cpuUsage(clientBefore);
        return (u.user + u.system) / 1e6;
      })();
      for (const s of served) await stopServe(s);
      problems.push(...result.failures.slice(0, 5));
      const latencies = result.latencies.filter((x) => !Number.isNaN(x)).sort();
      const rate = run.n / seconds;
      const sql = await openPostgres({ url: testDatabaseUrl(), schema: storage.schema!, poolSize: 2 });
      const rows = await eventRows(sql).finally(() => sql.end());
      if (rows.length !== run.n)
        problems.push(`${count} processes: stored ${fmt(rows.length)} rows, expected ${fmt(run.n)}`);
      await storage.drop();
      global.gc?.();
      const raw = await postgresBaseline(rows, run.batch);
      const rawRate = rows.length / raw.seconds;
      const f: Figures = {
        processes: count,
        eventsPerSec: Math.round(rate),
        p99Ms: Number(percentile(latencies, 99).toFixed(1)),
        serverUsPerEvent: Number(((1e6 * serverCpu) / run.n).toFixed(1)),
        clientUsPerEvent: Number(((1e6 * clientCpu) / run.n).toFixed(1)),
        rawRowsPerSec: Math.round(rawRate),
      };
      figures.push(f);
      console.log(
        `${count} serve process${count > 1 ? 'es' : ''} (--roles ingest): ${fmt(rate)} events/s acknowledged (${fmt(result.acknowledged)} in ${fmt(seconds, 2)} s), p99 ${fmt(f.p99Ms, 1)} ms; ` +
          `serve CPU ${fmt(f.serverUsPerEvent, 1)} µs an event (${fmt(serverCpu / seconds, 2)} cores), clients ${fmt(f.clientUsPerEvent, 1)} µs; ` +
          `raw PostgreSQL insert of the same rows ${fmt(rawRate)} rows/s, ingest/raw ${fmt(rate / rawRate, 2)}; load average ${fmt(load, 1)} at the start`,
      );
    } finally {
      for (const s of served) if (s.alive()) s.child.kill('SIGKILL');
      await storage.drop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(
    [
      '',
      `| serve processes (PostgreSQL, ${fmt(run.n)} events, ${run.clients} clients × ${run.batch}-event /v1/batch, round-robin) | events/s | p99 | serve CPU an event | raw insert, same run | ingest/raw |`,
      '|---|---|---|---|---|---|',
      ...figures.map(
        (f) =>
          `| ${f.processes} | ${fmt(f.eventsPerSec)} | ${fmt(f.p99Ms)} ms | ${fmt(f.serverUsPerEvent, 1)} µs | ${fmt(f.rawRowsPerSec)} rows/s | ${fmt(f.eventsPerSec / f.rawRowsPerSec, 2)} |`,
      ),
      '',
    ].join('\n'),
  );
  console.log(
    JSON.stringify({ bench: 'ingest', store: 'postgres', events: run.n, batch: run.batch, runs: figures }),
  );
  if (problems.length === 0) return 0;
  console.error(`FAILED:\n  ${problems.join('\n  ')}`);
  return 1;
}
