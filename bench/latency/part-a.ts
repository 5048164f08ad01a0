import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import { checkpoint, openBenchPostgres } from '../postgres.ts';
import { buildServer } from '../../src/server/server.ts';
import { exampleConfig } from '../engine/setup.ts';
import { sleep, startProfiler, summarizeProfile, wall } from '../lib.ts';
import type { Dist } from './common.ts';
import { WEB_KEY, dist, measuredEnter, messageIdsOf } from './common.ts';
import type { Options } from './options.ts';
import type { ClientResult } from './worker-client.ts';
import { clientWorker, messageIdOf } from './worker-client.ts';

export interface PartA {
  rate: number;
  seconds: number;
  sent: number;
  acked: number;
  enters: number;
  ackToCommit: Dist;
  serverToCommit: Dist;
  sendToCommit: Dist;
  requestLatency: Dist;
  noEnter: number;
  noEnterAlreadyMember: number;
  noEnterUnexplained: number;
  shoppers: number;
  batches: number;
  meanBatch: number;
  failures: string[];
}

export async function partA(dir: string, opts: Options): Promise<PartA> {
  const config = exampleConfig(join(dir, 'serve.db'));
  const pg = opts.store === 'postgres' ? await openBenchPostgres() : undefined;
  if (pg) await checkpoint(pg.sql);
  const app = createApp({ config, ...(pg ? { store: pg.store } : {}) });
  const server = buildServer(serverServices(app));
  const serverDone = new Map<string, number>();
  server.addHook('onResponse', (request, _reply, done) => {
    const at = wall();
    for (const id of messageIdsOf(request.body)) serverDone.set(id, at);
    done();
  });
  const committed = new Map<string, number>();
  let enters = 0;
  app.bus.on('engine.changes', ({ changes }) => {
    const at = wall();
    for (const c of changes) {
      const id = measuredEnter(c);
      if (id === undefined) continue;
      enters++;
      committed.set(id, at);
    }
  });
  let batches = 0;
  let batched = 0;
  app.bus.on('processor.batch', (e) => {
    batches++;
    batched += e.events;
  });
  // --ingest-only: the processor is never started, to see what ingest alone sustains.
  if (!opts.ingestOnly) app.start();
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  const count = opts.rate * opts.seconds;
  const client = clientWorker({
    urls: [`${base}/v1/${opts.perRequest === 1 ? 'track' : 'batch'}`],
    authorization: `Basic ${Buffer.from(`${WEB_KEY}:`).toString('base64')}`,
    rate: opts.rate,
    count,
    perRequest: opts.perRequest,
    maxInFlight: opts.maxInFlight,
    seed: 'latency',
    warmup: opts.rate * opts.warmup,
  });
  await client.ready;
  // A short unmeasured warm-up of the server and the engine, on other shoppers.
  for (let i = 0; i < 200; i++) {
    await app.ingest.ingest('web', [
      {
        type: 'track',
        event: 'Product Added',
        anonymousId: `warm-${i}`,
        messageId: `warm-${i}`,
        properties: { product_id: 'x' },
      },
    ]);
  }
  if (!opts.ingestOnly) await app.settle();
  const profiler = opts.profile ? await startProfiler() : undefined;
  const result = await client.go();
  if (!opts.ingestOnly) await app.settle();
  if (profiler && opts.profile) {
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    const file = opts.profile.replace(/(\.cpuprofile)?$/, '-a.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    console.log(`wrote ${file}`);
    summarizeProfile(profile, 'server thread (part A, sending phase)');
  }
  await sleep(200);
  await server.close();
  await app.stop();
  await pg?.drop();

  return summarizeA({ result, count, committed, serverDone, enters, batches, batched });
}

/** What part A observed, whatever ran the server: the client's times and the commits seen. */
export interface Observed {
  result: ClientResult;
  count: number;
  /** Commit time of each event's cart_0_4h enter, by messageId. */
  committed: ReadonlyMap<string, number>;
  /** When the server finished each event's response, by messageId. */
  serverDone: ReadonlyMap<string, number>;
  enters: number;
  batches: number;
  batched: number;
}

export function summarizeA({
  result,
  count,
  committed,
  serverDone,
  enters,
  batches,
  batched,
}: Observed): PartA {
  const ackToCommit: number[] = [];
  const serverToCommit: number[] = [];
  const sendToCommit: number[] = [];
  const requestLatency: number[] = [];
  let acked = 0;
  let noEnter = 0;
  // A shopper enters once, on whichever of its events the server logged first (concurrent
  // requests can arrive out of order); its other events find it already a member.
  const shoppers = new Set<number>();
  const entered = new Set<number>();
  for (let i = 0; i < count; i++) {
    if (Number.isNaN(result.acked[i]!)) continue;
    shoppers.add(result.shopper[i]!);
    if (committed.has(messageIdOf(i))) entered.add(result.shopper[i]!);
  }
  for (let i = 0; i < count; i++) {
    const ack = result.acked[i]!;
    if (Number.isNaN(ack)) continue;
    acked++;
    requestLatency.push(ack - result.sent[i]!);
    const id = messageIdOf(i);
    const at = committed.get(id);
    if (at === undefined) {
      noEnter++;
      continue;
    }
    ackToCommit.push(at - ack);
    sendToCommit.push(at - result.sent[i]!);
    const done = serverDone.get(id);
    if (done !== undefined) serverToCommit.push(at - done);
  }
  return {
    rate: count / result.seconds,
    seconds: result.seconds,
    sent: count,
    acked,
    enters,
    ackToCommit: dist(ackToCommit),
    serverToCommit: dist(serverToCommit),
    sendToCommit: dist(sendToCommit),
    requestLatency: dist(requestLatency),
    noEnter,
    noEnterAlreadyMember: noEnter - (shoppers.size - entered.size),
    noEnterUnexplained: shoppers.size - entered.size,
    shoppers: shoppers.size,
    batches,
    meanBatch: batches === 0 ? 0 : batched / batches,
    failures: result.failures,
  };
}
