// Part A across `--processes N` serve processes on one PostgreSQL schema, every one with roles
// `all` (each takes ingest; the leases put the processor in one of them). Requests go to the N in
// turn, so most events are accepted by a process that does not process them: its signal must
// wake the processor in the process holding the lease.
import type { ChildProcess } from 'node:child_process';
import { fork } from 'node:child_process';
import { checkpoint, openBenchPostgres } from '../postgres.ts';
import { testDatabaseUrl } from '../../src/store/postgres/testing.ts';
import { sleep } from '../lib.ts';
import type { PartA } from './part-a.ts';
import { summarizeA } from './part-a.ts';
import { WEB_KEY } from './common.ts';
import type { Options } from './options.ts';
import type { ServeCommand, ServeReport } from './serve-process.ts';
import { clientWorker } from './worker-client.ts';

interface Serving {
  child: ChildProcess;
  url: Promise<string>;
  stopped: Promise<void>;
}

export async function partAProcesses(opts: Options): Promise<PartA & { processes: number }> {
  const pg = await openBenchPostgres(2);
  await checkpoint(pg.sql);
  const committed = new Map<string, number>();
  const serverDone = new Map<string, number>();
  let enters = 0;
  let batches = 0;
  let batched = 0;
  const start = (roles: 'all' | 'ingest' | 'jobs'): Serving => {
    const child = fork(new URL('./serve-process.ts', import.meta.url), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        BENCH_PG_URL: testDatabaseUrl(),
        BENCH_PG_SCHEMA: pg.schema,
        BENCH_ROLES: roles,
      },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let ready: (url: string) => void = () => {};
    let stopped: () => void = () => {};
    const url = new Promise<string>((resolve, reject) => {
      ready = resolve;
      child.once('exit', (code) => reject(new Error(`a serve process exited (${code}) before it was ready`)));
    });
    child.on('message', (report: ServeReport) => {
      if (report.type === 'ready') ready(report.url);
      else if (report.type === 'stopped') stopped();
      else {
        for (const [id, at] of report.responses) serverDone.set(id, at);
        for (const [id, at] of report.commits) committed.set(id, at);
        enters += report.enters;
        batches += report.batches;
        batched += report.batched;
      }
    });
    return { child, url, stopped: new Promise<void>((resolve) => (stopped = resolve)) };
  };
  const processes: Serving[] = [];
  try {
    // The first alone: it takes the leases, so which process processes is known not to matter.
    // With --jobs-process the first is the jobs process, and requests go only to the others.
    processes.push(start(opts.jobsProcess ? 'jobs' : 'all'));
    await processes[0]!.url;
    for (let i = opts.jobsProcess ? 0 : 1; i < opts.processes; i++)
      processes.push(start(opts.jobsProcess ? 'ingest' : 'all'));
    const bases = (await Promise.all(processes.map((p) => p.url))).slice(opts.jobsProcess ? 1 : 0);
    const path = opts.perRequest === 1 ? 'track' : 'batch';
    const authorization = `Basic ${Buffer.from(`${WEB_KEY}:`).toString('base64')}`;
    // A short unmeasured warm-up through every process, on other shoppers.
    const warm = 200;
    for (let i = 0; i < warm; i++) {
      const res = await fetch(`${bases[i % bases.length]}/v1/track`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({
          type: 'track',
          event: 'Product Added',
          anonymousId: `warm-${i}`,
          messageId: `warm-${i}`,
          properties: { product_id: 'x' },
        }),
      });
      if (res.status !== 200) throw new Error(`warm-up: HTTP ${res.status}: ${await res.text()}`);
    }
    await caughtUp(pg.sql);
    const count = opts.rate * opts.seconds;
    const client = clientWorker({
      urls: bases.map((b) => `${b}/v1/${path}`),
      authorization,
      rate: opts.rate,
      count,
      perRequest: opts.perRequest,
      maxInFlight: opts.maxInFlight,
      seed: 'latency',
      warmup: opts.rate * opts.warmup,
    });
    await client.ready;
    const result = await client.go();
    await caughtUp(pg.sql);
    // The last reports are at most one flush (100 ms) behind.
    await sleep(300);
    return {
      ...summarizeA({ result, count, committed, serverDone, enters, batches, batched }),
      processes: opts.processes,
    };
  } finally {
    for (const p of processes) p.child.send({ type: 'stop' } satisfies ServeCommand);
    await Promise.race([Promise.all(processes.map((p) => p.stopped)), sleep(15_000)]);
    for (const p of processes) if (p.child.exitCode === null) p.child.kill();
    await pg.drop();
  }
}

/** Waits until the processor (in whichever process) has applied everything logged so far. */
async function caughtUp(sql: Awaited<ReturnType<typeof openBenchPostgres>>['sql']): Promise<void> {
  const until = Date.now() + 120_000;
  for (;;) {
    const [row] = await sql<{ head: number | null; at: number | null }[]>`
      SELECT (SELECT max(seq) FROM events) AS head, (SELECT position FROM cursors WHERE name = 'processor') AS at`;
    if ((row?.at ?? 0) >= (row?.head ?? 0)) return;
    if (Date.now() > until) throw new Error('the processor did not catch up within two minutes');
    await sleep(50);
  }
}
