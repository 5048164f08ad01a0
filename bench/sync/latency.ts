// ---------------------------------------------------------------------------------------------
// Part 2: latency, not rate limited.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import { buildServer } from '../../src/server/server.ts';
import { openSqlite } from '../../src/store/sqlite/database.ts';
import { startFakeCordial } from '../../test/fakes/cordial/index.ts';
import { fmt, sleep, wall } from '../lib.ts';
import type { Dist, Part1Result } from './common.ts';
import {
  CORDIAL_KEY,
  LISTS,
  WARM_UP_EVENTS,
  WRITE_KEY,
  benchConfig,
  checkMirrored,
  dist,
  emailOf,
  load,
  roundDist,
  showDist,
} from './common.ts';
import { sendFromWorker } from './worker-client.ts';
import type { StoreKind } from '../lib.ts';
import { openBenchStore } from './stores.ts';

/** One durable commit on this disk, with the store's own pragmas (synchronous = FULL): ms per commit. */
function commitCost(dir: string): Dist {
  const db = openSqlite(join(dir, 'commit-cost.db'));
  db.exec('CREATE TABLE bench_commit (v INTEGER)');
  const insert = db.prepare('INSERT INTO bench_commit (v) VALUES (?)');
  const commit = db.transaction((v: number) => insert.run(v));
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    commit(i);
    times.push(performance.now() - started);
  }
  db.close();
  return dist(times);
}

interface Part2Options {
  rate: number;
  seconds: number;
  concurrency: number;
  store: StoreKind;
}

export async function part2(opts: Part2Options): Promise<Part1Result> {
  const problems: string[] = [];
  const count = Math.round(opts.rate * opts.seconds);
  console.log(
    `\n## Part 2: latency, not rate limited: ${fmt(count)} Product Added for new shoppers, one /v1/track each, ${fmt(opts.rate)}/s for ${fmt(opts.seconds)} s; fake without a limit, Handoff rateLimit 100,000/s, concurrency ${opts.concurrency}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-sync-'));
  const commits = commitCost(dir);
  console.log(
    `baseline: one durable SQLite commit here (openSqlite's pragmas, synchronous = FULL): ${showDist(commits)}; an event reaches Cordial after at least 4 (ingest, processor, outbox read, send results), all on the server's thread; load average ${load()} on ${cpus().length} CPUs`,
  );
  const fake = await startFakeCordial({ apiKeys: [CORDIAL_KEY], now: wall });
  const dbPath = join(dir, 'handoff.db');
  const bench = await openBenchStore(opts.store, dbPath);
  console.log(`store: ${bench.label}`);
  const app = createApp({ config: benchConfig(dbPath, fake, 100_000, opts.concurrency), store: bench.store });
  const server = buildServer(serverServices(app));
  try {
    // Even shoppers are already in Cordial (one PUT); odd ones are not (PUT 404, then POST).
    for (let i = 0; i < count; i += 2)
      fake.seedContact({ channels: { email: { address: emailOf('l', i) } } });
    fake.seedList(LISTS.cart, { enhanced: true });
    fake.seedList(LISTS.viewed, { enhanced: true });
    fake.seedList(LISTS.purchased, { enhanced: true });
    const committed = new Map<string, number>();
    app.bus.on('engine.changes', ({ changes }) => {
      const at = wall();
      for (const c of changes)
        if (c.audience === 'cart_0_4h' && c.change === 'enter' && c.cause.kind === 'event')
          committed.set(c.cause.messageId, at);
    });
    const base = await server.listen({ port: 0, host: '127.0.0.1' });
    app.start();
    // Warm-up, not measured: the first round looks the lists up, and the code paths get compiled.
    const authorization = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    for (let w = 0; w < WARM_UP_EVENTS; w++) {
      const res = await fetch(`${base}/v1/track`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({
          userId: `w${w}`,
          event: 'Product Added',
          properties: { product_id: 'sku-1' },
          context: { traits: { email: emailOf('w', w) } },
        }),
      });
      await res.text();
    }
    const warmUntil = wall() + 10_000;
    while (
      wall() < warmUntil &&
      (fake.lists().find((l) => l.name === LISTS.cart)?.count ?? 0) < WARM_UP_EVENTS
    )
      await sleep(20);
    const warmUpRequests = fake.requests.length;
    const client = sendFromWorker({
      url: `${base}/v1/track`,
      authorization,
      rate: opts.rate,
      count,
    });
    await client.ready;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const cpuBefore = process.cpuUsage();
    const started = wall();
    const result = await client.go();
    const sendSeconds = (wall() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    loopDelay.disable();
    if (result.failures.length > 0)
      problems.push(
        ...result.failures.slice(0, 5),
        ...(result.failures.length > 5 ? [`… ${result.failures.length - 5} more`] : []),
      );

    // Applied at the fake: the first PUT 200 or POST 2xx per shopper that set the cart list.
    const applied = new Map<string, number>();
    const measured = new Set(Array.from({ length: count }, (_, i) => emailOf('l', i)));
    const scan = (): void => {
      for (const r of fake.requests) {
        const body = r.body as Record<string, unknown> | undefined;
        if (r.status === null || r.status >= 300 || body?.[LISTS.cart] !== true) continue;
        let email: string | undefined;
        if (r.method === 'PUT' && r.path.startsWith('/v2/contacts/'))
          email = decodeURIComponent(r.path.slice('/v2/contacts/'.length)).replace(/^email:/, '');
        else if (r.method === 'POST' && r.path === '/v2/contacts')
          email = (
            (body.channels as { email?: { address?: string } } | undefined)?.email?.address ?? ''
          ).toLowerCase();
        if (email !== undefined && measured.has(email) && !applied.has(email))
          applied.set(email, r.respondedAt);
      }
    };
    const waitUntil = wall() + 30_000;
    for (scan(); applied.size < count && wall() < waitUntil; scan()) await sleep(100);

    const total: number[] = [];
    const slowest: { i: number; ms: number; commitMs: number }[] = [];
    const toCommit: number[] = [];
    const commitToApplied: number[] = [];
    const existing: number[] = [];
    const created: number[] = [];
    let missing = 0;
    for (let i = 0; i < count; i++) {
      const ack = result.acked[i]!;
      const at = applied.get(emailOf('l', i));
      const commit = committed.get(`latency-${i}`);
      if (Number.isNaN(ack) || at === undefined) {
        missing++;
        continue;
      }
      total.push(at - ack);
      slowest.push({ i, ms: at - ack, commitMs: commit === undefined ? NaN : commit - ack });
      (i % 2 === 0 ? existing : created).push(at - ack);
      if (commit !== undefined) {
        toCommit.push(commit - ack);
        commitToApplied.push(at - commit);
      }
    }
    if (missing > 0)
      problems.push(`${fmt(missing)} of ${fmt(count)} events never reached the fake's cart list within 30 s`);
    const requestsPerContact = (fake.requests.length - warmUpRequests) / count;
    const all = dist(total);
    const dExisting = dist(existing);
    const dCreated = dist(created);
    const dCommit = dist(toCommit);
    const dSync = dist(commitToApplied);
    const achieved = count / sendSeconds;
    console.log(
      `sent ${fmt(count)} events in ${fmt(sendSeconds, 1)} s (${fmt(achieved, 1)}/s acknowledged); ${fmt(fake.requests.length - warmUpRequests)} requests to the fake (${fmt(requestsPerContact, 2)} per shopper; after ${WARM_UP_EVENTS} warm-up events, not measured); server process CPU ${fmt((cpu.user + cpu.system) / 1e6 / sendSeconds, 2)} cores (client thread included), event-loop delay p99 ${fmt(loopDelay.percentile(99) / 1e6, 1)} ms, max ${fmt(loopDelay.max / 1e6, 1)} ms; load average ${load()}`,
    );
    if (achieved < 0.95 * opts.rate)
      console.log(
        `  WARNING: the server acknowledged ${fmt(achieved, 1)}/s of the ${fmt(opts.rate)}/s offered: it did not keep up, so the latencies below include queueing`,
      );
    console.log(`event 200 at the client → membership applied by the fake: ${showDist(all)}`);
    console.log(`  shoppers already in Cordial (one PUT): ${showDist(dExisting)}`);
    console.log(`  shoppers new to Cordial (PUT 404, then POST): ${showDist(dCreated)}`);
    console.log(`  200 → enter committed by the engine: ${showDist(dCommit)}`);
    console.log(
      `  enter committed → applied by the fake (outbox read, send timer, request): ${showDist(dSync)}`,
    );
    slowest.sort((a, b) => b.ms - a.ms);
    console.log(
      `  slowest: ${slowest
        .slice(0, 5)
        .map((s) => `#${s.i} (sent at +${fmt(s.i / opts.rate, 2)} s) ${fmt(s.ms, 1)} ms`)
        .join(', ')}`,
    );
    const mirrored = await checkMirrored(app, fake);
    problems.push(...mirrored.problems);
    const table = [
      `| part 2: ${fmt(count)} events at ${fmt(opts.rate)}/s, not rate limited | |`,
      '|---|---|',
      `| events acknowledged | ${fmt(achieved, 1)}/s of ${fmt(opts.rate)}/s offered |`,
      `| event 200 → Cordial applied | p50 ${fmt(all.p50, 1)} ms, p99 ${fmt(all.p99, 1)} ms, max ${fmt(all.max, 1)} ms |`,
      `| … contact already in Cordial (1 request) | p50 ${fmt(dExisting.p50, 1)} ms, p99 ${fmt(dExisting.p99, 1)} ms |`,
      `| … contact created (PUT 404 + POST) | p50 ${fmt(dCreated.p50, 1)} ms, p99 ${fmt(dCreated.p99, 1)} ms |`,
      `| of which 200 → enter committed | p50 ${fmt(dCommit.p50, 1)} ms, p99 ${fmt(dCommit.p99, 1)} ms |`,
      `| of which committed → applied | p50 ${fmt(dSync.p50, 1)} ms, p99 ${fmt(dSync.p99, 1)} ms |`,
      `| baseline: one durable SQLite commit on this disk | p50 ${fmt(commits.p50, 2)} ms, p99 ${fmt(commits.p99, 2)} ms |`,
    ];
    return {
      problems,
      table,
      summary: {
        events: count,
        eventRate: opts.rate,
        latencyMs: roundDist(all),
        existingContactMs: roundDist(dExisting),
        createdContactMs: roundDist(dCreated),
        ackToCommitMs: roundDist(dCommit),
        commitToAppliedMs: roundDist(dSync),
        missing,
        achievedEventRate: Number(achieved.toFixed(1)),
        eventLoopDelayMaxMs: Number((loopDelay.max / 1e6).toFixed(1)),
        commitMs: roundDist(commits),
      },
    };
  } finally {
    await server.close();
    await app.stop();
    await fake.close();
    await bench.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
