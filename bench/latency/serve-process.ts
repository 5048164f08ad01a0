// One serve process of `--processes N`: a Handoff app and server on the benchmark's PostgreSQL
// schema, run as a child process (its own event loop and pool, as a real deployment's would be),
// with the roles in BENCH_ROLES (ingest, jobs or all; default all).
// It reports to the parent over IPC when each event's response was done and when each
// cart_0_4h enter was committed (only the process holding the processor lease commits any).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import { buildServer } from '../../src/server/server.ts';
import { openPostgres } from '../../src/store/postgres/database.ts';
import { postgresStore } from '../../src/store/postgres/index.ts';
import { exampleConfig } from '../engine/setup.ts';
import { wall } from '../lib.ts';
import { measuredEnter, messageIdsOf } from './common.ts';

/** What a serve process tells the parent. */
export type ServeReport =
  | { type: 'ready'; url: string; holder: string }
  | {
      type: 'times';
      responses: [string, number][];
      commits: [string, number][];
      enters: number;
      batches: number;
      batched: number;
    }
  | { type: 'stopped' };

/** What the parent tells it: stop (after a last report). */
export type ServeCommand = { type: 'stop' };

async function serve(): Promise<void> {
  const url = process.env.BENCH_PG_URL!;
  const schema = process.env.BENCH_PG_SCHEMA!;
  const roles = process.env.BENCH_ROLES ?? 'all';
  const send = (report: ServeReport): void => void process.send!(report);
  const store = postgresStore(await openPostgres({ url, schema, poolSize: 10 }));
  const app = createApp({ config: exampleConfig(join(tmpdir(), 'unused.db')), store });
  const server = buildServer(serverServices(app), { ingest: roles !== 'jobs' });
  let responses: [string, number][] = [];
  let commits: [string, number][] = [];
  let enters = 0;
  let batches = 0;
  let batched = 0;
  server.addHook('onResponse', (request, _reply, done) => {
    const at = wall();
    for (const id of messageIdsOf(request.body)) responses.push([id, at]);
    done();
  });
  app.bus.on('engine.changes', ({ changes }) => {
    const at = wall();
    for (const c of changes) {
      const id = measuredEnter(c);
      if (id === undefined) continue;
      enters++;
      commits.push([id, at]);
    }
  });
  app.bus.on('processor.batch', (e) => {
    batches++;
    batched += e.events;
  });
  const flush = (): void => {
    send({ type: 'times', responses, commits, enters, batches, batched });
    responses = [];
    commits = [];
    enters = batches = batched = 0;
  };
  const timer = setInterval(flush, 100);
  // As `serve --roles ingest` does: the jobs are never started.
  if (roles !== 'ingest') {
    app.start();
    await app.jobs.ready();
  }
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  send({ type: 'ready', url: base, holder: app.jobs.holder });
  process.on('message', (command: ServeCommand) => {
    if (command.type !== 'stop') return;
    void (async () => {
      await server.close();
      await app.stop();
      clearInterval(timer);
      flush();
      send({ type: 'stopped' });
      process.disconnect();
    })();
  });
}

if (process.send !== undefined) await serve();
