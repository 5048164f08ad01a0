import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { App } from '../../src/app/app.ts';
import { createApp } from '../../src/app/app.ts';
import { parseConfig } from '../../src/config/load.ts';
import { buildServer } from '../../src/server/server.ts';
import { serverServices } from '../../src/app/services.ts';
import type { FakeCordial } from '../../test/fakes/cordial/index.ts';
import { startFakeCordial } from '../../test/fakes/cordial/index.ts';
import { fmt } from '../lib.ts';
import { CORDIAL_KEY, WRITE_KEY, emailOf } from './common.ts';
import type { FakeS3 } from '../../test/fakes/s3/index.ts';
import { startFakeS3 } from '../../test/fakes/s3/index.ts';
import type { ReconcileResult } from './bulk-reconcile.ts';
import { reconcilePhase } from './bulk-reconcile.ts';

export interface BulkBenchOptions {
  /** Members of the new audience (first sync). */
  members: number;
  /** Of them, how many then leave it. */
  exits: number;
  /** The account's request limit R (requests/s), enforced by the fake and configured in Handoff. */
  rate: number;
  /** Rows the fake's import jobs process per second. */
  rowsPerSecond: number;
  /** Handoff's bulk.pollInterval, seconds. */
  pollSeconds: number;
  /** Files in a (fake) S3 bucket instead of served by Handoff; adds the reconcile by export. */
  s3: boolean;
}

const LIST = 'winback-lapsed';
const AUDIENCE = {
  key: 'winback',
  name: 'WB | Lapsed | 120d',
  purpose: 'win-back',
  channels: ['email'],
  ttl: '30d',
  condition: { type: 'trait', trait: 'winback', op: 'eq', value: true },
  destinations: [{ cordial: { list: LIST } }],
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Identifies `ids` with the win-back trait set to `value`, ingested and processed (not timed against R). */
async function writeChanges(app: App, ids: number[], value: boolean): Promise<number> {
  const started = performance.now();
  for (let k = 0; k < ids.length; k += 5_000) {
    const messages = ids.slice(k, k + 5_000).map((i) => ({
      type: 'identify',
      messageId: `bulk-${value ? 'in' : 'out'}-${i}`,
      userId: `u${i}`,
      traits: { email: emailOf('wb', i), winback: value },
      timestamp: new Date().toISOString(),
    }));
    const result = await app.ingest.ingest('web', messages);
    if (result.rejected.length > 0) throw new Error(`ingest rejected ${JSON.stringify(result.rejected[0])}`);
    await app.processor.drain();
  }
  return (performance.now() - started) / 1000;
}

interface Phase {
  name: string;
  rows: number;
  seconds: number;
  /** Seconds with no job at the fake (submitted and not yet ended there): Handoff's own time. */
  ownSeconds: number;
  requests: Record<string, number>;
  jobs: number;
  baselineSeconds: number;
  /** From the phase's start to the first job planned; to its submission; after the fake ended the last job. */
  split: { readAndPlan: number; toSubmit: number; afterFake: number };
}

/** Waits until the list has `size` members and nothing is pending or running; measures the phase. */
async function phase(
  app: App,
  fake: FakeCordial,
  { name, rows, size, rate }: { name: string; rows: number; size: number; rate: number },
): Promise<Phase> {
  const firstRequest = fake.requests.length;
  const jobsBefore = fake.imports.jobs().length;
  const started = Date.now();
  app.sync!.worker.pull().catch(() => undefined);
  for (;;) {
    await new Promise((r) => setTimeout(r, 250));
    const count = fake.lists().find((l) => l.name === LIST)?.count ?? 0;
    if (count !== size) continue;
    const pending = await app.store.sync.nextDueAt('cordial');
    if (pending === null && (await app.store.bulk.active('cordial')).length === 0) break;
  }
  const seconds = (Date.now() - started) / 1000;
  const requests: Record<string, number> = {};
  for (const r of fake.requests.slice(firstRequest)) {
    const key = `${r.method} ${r.path.replace(/\/v2\/(contacts|jobs)\/.*/, '/v2/$1/{id}')}`;
    requests[key] = (requests[key] ?? 0) + 1;
  }
  // Time with at least one job at the fake, from Handoff's submission to the fake's end of it.
  const ended = new Map(
    fake.imports.jobs().map((j) => [j._id as string, Date.parse((j.times as { end: string }).end)]),
  );
  const spans = (await app.store.bulk.recent('cordial', 100_000))
    .filter((j) => j.submittedAt !== undefined && j.submittedAt >= started && j.remoteId !== undefined)
    .map((j) => [j.submittedAt!, ended.get(j.remoteId!) ?? Date.now()] as const)
    .sort((a, b) => a[0] - b[0]);
  const ours = (await app.store.bulk.recent('cordial', 100_000)).filter((j) => j.createdAt >= started);
  const firstPlanned = Math.min(...ours.map((j) => j.createdAt));
  const firstSubmitted = Math.min(...ours.map((j) => j.submittedAt ?? Infinity));
  const lastFakeEnd = Math.max(...ours.map((j) => ended.get(j.remoteId ?? '') ?? 0));
  const split = {
    readAndPlan: (firstPlanned - started) / 1000,
    toSubmit: (firstSubmitted - firstPlanned) / 1000,
    afterFake: (Date.now() - lastFakeEnd) / 1000,
  };
  let atFake = 0;
  let [from, to] = [0, 0];
  for (const [s, e] of spans) {
    if (s > to) {
      atFake += to - from;
      [from, to] = [s, e];
    } else to = Math.max(to, e);
  }
  atFake += to - from;
  return {
    name,
    rows,
    seconds,
    ownSeconds: seconds - atFake / 1000,
    requests,
    jobs: fake.imports.jobs().length - jobsBefore,
    baselineSeconds: rows / rate,
    split,
  };
}

/** `--bulk`: a new audience's first sync, then a mass exit, through import jobs served by Handoff. */
export async function bulkBench(
  opts: BulkBenchOptions,
): Promise<{ table: string[]; problems: string[]; summary: unknown }> {
  console.log(
    `\n## Bulk: ${fmt(opts.members)} members enter a new audience, then ${fmt(opts.exits)} leave${opts.s3 ? ', then 1% of the list drifts and is reconciled by export' : ''}; fake limit R = ${fmt(opts.rate)}/s, imports at ${fmt(opts.rowsPerSecond)} rows/s, poll every ${opts.pollSeconds} s; files ${opts.s3 ? 'in a fake S3 bucket' : 'served by Handoff'}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-bulk-'));
  let s3: FakeS3 | undefined;
  if (opts.s3) {
    // The AWS SDK's default chain reads these, as in a deployment.
    process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKE';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
    s3 = await startFakeS3({ buckets: ['bench'] });
  }
  const fake = await startFakeCordial({
    apiKeys: [CORDIAL_KEY],
    rateLimit: { perSecond: opts.rate },
    imports: { rowsPerSecond: opts.rowsPerSecond, scheduledMs: 1_000 },
    exports: { rowsPerSecond: opts.rowsPerSecond * 5, scheduledMs: 1_000 },
    ...(s3 ? { writeExport: (b: string, k: string, body: string) => s3.put(b, k, body) } : {}),
  });
  // A win-back audience is lapsed customers: every member is already a Cordial contact.
  for (let i = 0; i < opts.members; i++)
    fake.seedContact({ channels: { email: { address: emailOf('wb', i) } } });
  const port = await freePort();
  const parsed = parseConfig(
    stringify({
      storage: { sqlite: { path: join(dir, 'handoff.db') } },
      sources: [{ id: 'web', writeKey: { env: 'W' } }],
      destinations: {
        cordial: {
          baseUrl: fake.baseUrl,
          apiKey: { env: 'C' },
          rateLimit: opts.rate,
          concurrency: 4,
          bulk: {
            ...(s3
              ? { s3: { bucket: 'bench', region: 'us-east-1', endpoint: s3.url }, accountId: 1 }
              : { publicBaseUrl: `http://127.0.0.1:${port}` }),
            pollInterval: `${opts.pollSeconds}s`,
          },
        },
      },
      audiences: [AUDIENCE],
    }),
    'bench-bulk.yaml',
    { W: WRITE_KEY, C: CORDIAL_KEY },
  );
  if (!parsed.ok) throw new Error(parsed.error.message);
  // The fakes run in this process: their synchronous work (exports of the whole list) can hold the
  // event loop past a 5 s lease, which a real serve beside a real Cordial does not see.
  const app = createApp({
    config: parsed.value,
    leases: { ttlMs: 120_000, retryMs: 1_000, marginMs: 20_000 },
  });
  const server = buildServer(serverServices(app));
  const problems: string[] = [];
  const phases: Phase[] = [];
  let reconcile: ReconcileResult | undefined;
  try {
    await server.listen({ port, host: '127.0.0.1' });
    const all = Array.from({ length: opts.members }, (_, i) => i);
    const inSeconds = await writeChanges(app, all, true);
    console.log(
      `${fmt(opts.members)} entries ingested and processed in ${fmt(inSeconds, 1)} s (not part of the sync)`,
    );
    app.start();
    phases.push(
      await phase(app, fake, { name: 'first sync', rows: opts.members, size: opts.members, rate: opts.rate }),
    );
    const outSeconds = await writeChanges(app, all.slice(0, opts.exits), false);
    console.log(
      `${fmt(opts.exits)} exits ingested and processed in ${fmt(outSeconds, 1)} s (not part of the sync)`,
    );
    phases.push(
      await phase(app, fake, {
        name: 'mass exit',
        rows: opts.exits,
        size: opts.members - opts.exits,
        rate: opts.rate,
      }),
    );
    if (s3) {
      reconcile = await reconcilePhase(app, fake, { list: LIST, fraction: 0.01, rate: opts.rate });
      if (!reconcile.converged) problems.push('the reconcile did not bring the list back to the audience');
      if (s3.objects('bench').size > 0) problems.push(`${s3.objects('bench').size} files left in the bucket`);
    }
    const dead = await app.store.sync.deadLetters('cordial');
    if (dead.length > 0) problems.push(`${dead.length} dead letters`);
    const statuses = new Set(fake.contacts().map((c) => c.channels.email?.subscribeStatus ?? 'none'));
    if (statuses.size !== 1 || !statuses.has('none'))
      problems.push(`subscription statuses changed: ${[...statuses].join(', ')}`);
  } finally {
    await server.close();
    await app.stop();
    await fake.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const table = [
    '| phase | rows | end to end | Handoff own time | requests | import jobs | per contact at R |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const p of phases) {
    const total = Object.values(p.requests).reduce((s, n) => s + n, 0);
    console.log(
      `${p.name}: ${fmt(p.rows)} rows in ${fmt(p.seconds, 1)} s end to end, ${fmt(p.ownSeconds, 1)} s of it Handoff's own; ${fmt(total)} requests (${Object.entries(
        p.requests,
      )
        .map(([k, n]) => `${k} ${fmt(n)}`)
        .join(
          ', ',
        )}), ${p.jobs} jobs; per contact at R: ${fmt(p.baselineSeconds / 3600, 1)} h; of Handoff's time: ${fmt(p.split.readAndPlan, 1)} s to the first job planned (the outbox read into the ledger), ${fmt(p.split.toSubmit, 1)} s from it to its submission, ${fmt(p.split.afterFake, 1)} s after the fake ended the last job`,
    );
    table.push(
      `| ${p.name} | ${fmt(p.rows)} | ${fmt(p.seconds, 1)} s | ${fmt(p.ownSeconds, 1)} s | ${fmt(total)} | ${p.jobs} | ${fmt(p.baselineSeconds / 3600, 1)} h |`,
    );
  }
  if (reconcile) {
    const total = Object.values(reconcile.requests).reduce((s, n) => s + n, 0);
    table.push(
      `| reconcile --verify (1% drift, by export) | ${fmt(reconcile.members)} | ${fmt(reconcile.seconds, 1)} s | drift found ${fmt(reconcile.found)} of ${fmt(reconcile.drifted)}, repaired ${fmt(reconcile.repaired)} | ${fmt(total)} | — | ${fmt(reconcile.baselineSeconds / 3600, 1)} h |`,
    );
  }
  return { table, problems, summary: { phases, reconcile } };
}
