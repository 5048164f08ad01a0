// ---------------------------------------------------------------------------------------------
// Part 1: throughput under a rate limit.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createApp } from '../../src/app/app.ts';
import { startFakeCordial } from '../../test/fakes/cordial/index.ts';
import { Rng } from '../generate/index.ts';
import { fmt, percentile, sleep, wall } from '../lib.ts';
import type { ClientTrace } from './client-trace.ts';
import { clientViolations, traceClient } from './client-trace.ts';
import type { Part1Result } from './common.ts';
import {
  AUDIENCES,
  CORDIAL_KEY,
  HOUR,
  TARGET_RATE_RATIO,
  benchConfig,
  checkMirrored,
  emailOf,
  load,
} from './common.ts';
import type { StoreKind } from '../lib.ts';
import { openBenchStore } from './stores.ts';
import { Traffic } from './traffic.ts';

interface Part1Options {
  changes: number;
  contacts: number;
  rate: number;
  /** Handoff's destinations.cordial.rateLimit; R unless an operator got it wrong. */
  handoffRate: number;
  concurrency: number;
  existing: number;
  seed: string;
  store: StoreKind;
}

export async function part1(opts: Part1Options): Promise<Part1Result> {
  const problems: string[] = [];
  console.log(
    `\n## Part 1: throughput under a rate limit: ≥${fmt(opts.changes)} changes over ${fmt(opts.contacts)} contacts, fake limit R = ${fmt(opts.rate)}/s, Handoff rateLimit ${fmt(opts.handoffRate)}/s, concurrency ${opts.concurrency}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-sync-'));
  const fake = await startFakeCordial({
    apiKeys: [CORDIAL_KEY],
    now: wall,
    rateLimit: { perSecond: opts.rate },
  });
  const dbPath = join(dir, 'handoff.db');
  const bench = await openBenchStore(opts.store, dbPath);
  console.log(`store: ${bench.label}`);
  const app = createApp({
    config: benchConfig(dbPath, fake, opts.handoffRate, opts.concurrency),
    store: bench.store,
  });
  let trace: ClientTrace | undefined;
  try {
    // 1. Events in, changes out (not timed against R; nothing is sent yet: the app is not started).
    // Ingested and processed in rounds until the engine has written `--changes` changes. Stamped
    // in order within the two hours before now, so every window is still open during the run.
    let written = 0;
    app.bus.on('engine.changes', (e) => (written += e.changes.length));
    const maxMessages = 4 * opts.changes + opts.contacts;
    const traffic = new Traffic(opts.contacts, opts.seed, Date.now() - 2 * HOUR, (1.9 * HOUR) / maxMessages);
    let ingestSeconds = 0;
    let processSeconds = 0;
    while (written < opts.changes) {
      if (traffic.messages >= maxMessages)
        throw new Error(`${fmt(maxMessages)} messages gave only ${fmt(written)} changes`);
      // Sized from the messages-per-change so far, so the last round overshoots little.
      const perChange = written === 0 ? 1.5 : traffic.messages / written;
      const round = Math.min(20_000, Math.max(200, Math.ceil((opts.changes - written) * perChange)));
      let started = performance.now();
      const messages = traffic.next(round);
      for (let k = 0; k < messages.length; k += 5_000) {
        const result = await app.ingest.ingest('web', messages.slice(k, k + 5_000));
        if (result.rejected.length > 0)
          throw new Error(`ingest rejected ${JSON.stringify(result.rejected.slice(0, 3))}`);
      }
      ingestSeconds += (performance.now() - started) / 1000;
      started = performance.now();
      await app.processor.drain();
      processSeconds += (performance.now() - started) / 1000;
    }
    const touched = traffic.touched;
    const messageCount = traffic.messages;
    const changeRows = await bench.changeRows();
    const changes = changeRows.reduce((s, r) => s + r.n, 0);
    const heldOutChanges = changeRows.filter((r) => r.heldOut).reduce((s, r) => s + r.n, 0);
    const maxSeq = await bench.maxChangeSeq();
    const byAudience = AUDIENCES.map((a) => {
      const rows = changeRows.filter((r) => r.audience === a.key);
      const enter = rows.filter((r) => r.change === 'enter').reduce((s, r) => s + r.n, 0);
      const exit = rows.filter((r) => r.change === 'exit').reduce((s, r) => s + r.n, 0);
      return `${a.key} ${fmt(enter)} enter / ${fmt(exit)} exit`;
    }).join(', ');
    console.log(
      `events: ${fmt(messageCount)} (${[...traffic.mix].map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}) for ${fmt(touched)} contacts; ingested in ${fmt(ingestSeconds, 1)} s, processed in ${fmt(processSeconds, 1)} s`,
    );
    console.log(
      `changes written by the engine: ${fmt(changes)}: ${byAudience}; ${fmt(heldOutChanges)} held out (never sent)`,
    );
    if (changes < opts.changes)
      problems.push(`the engine wrote ${fmt(changes)} changes, fewer than ${fmt(opts.changes)}`);

    // The account: `existing` of the contacts already there (seeded without HTTP, unlogged).
    const rng = new Rng(`${opts.seed}-existing`);
    let seeded = 0;
    for (let i = 0; i < opts.contacts; i++)
      if (rng.next() < opts.existing) {
        fake.seedContact({ channels: { email: { address: emailOf('c', i) } } });
        seeded++;
      }
    console.log(
      `fake Cordial: ${fmt(seeded)} contacts seeded (--existing ${opts.existing}); lists are left to Handoff to create`,
    );

    // 2. Sync on the real clock, as `serve` runs it.
    const sent = { rounds: 0, updates: 0, items: 0, ok: 0, retried: 0, dead: 0 };
    app.bus.on('sync.sent', (e) => {
      sent.rounds++;
      sent.updates += e.requests;
      sent.items += e.items;
      sent.ok += e.ok;
      sent.retried += e.retried;
      sent.dead += e.dead;
    });
    trace = traceClient(fake.url);
    // When the destination hands a 429 back to the worker (which then pauses the limiter at once).
    const handled429: number[] = [];
    const destination = app.sync!.destination;
    const send = destination.send.bind(destination);
    destination.send = async (update) => {
      const result = await send(update);
      if (result.outcome.kind === 'rate_limited') handled429.push(wall());
      return result;
    };
    const cpuBefore = process.cpuUsage();
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const syncStarted = wall();
    const deadline = syncStarted + 1000 * Math.max(120, (4 * (2 * touched)) / opts.rate);
    app.start();
    let lastReport = syncStarted;
    let done = false;
    let pending = 0;
    let outboxReadAt: number | undefined;
    while (wall() < deadline) {
      await sleep(250);
      // Cheap checks while it runs (the pending index); the per-list counts only for the progress line.
      const cursor = await app.store.cursors.get('sync:cordial');
      if (cursor >= maxSeq) outboxReadAt ??= wall();
      if (cursor >= maxSeq && (await app.store.sync.nextDueAt('cordial')) === null) {
        done = true;
        break;
      }
      if (wall() - lastReport >= 15_000) {
        lastReport = wall();
        pending = (await app.store.sync.counts('cordial')).reduce((s, c) => s + c.pending, 0);
        const accepted = fake.requests.filter((r) => !r.rateLimited && r.status !== null).length;
        console.log(
          `  ${fmt((lastReport - syncStarted) / 1000)} s: ${fmt(fake.requests.length)} requests (${fmt(accepted)} accepted, ${fmt(accepted / ((lastReport - syncStarted) / 1000))}/s), outbox read to ${fmt(cursor)} of ${fmt(maxSeq)}, ${fmt(pending)} items pending`,
        );
      }
    }
    const syncSeconds = (wall() - syncStarted) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    loopDelay.disable();
    trace.stop();
    if (!done)
      problems.push(
        `sync did not finish within ${fmt((deadline - syncStarted) / 1000)} s: ${fmt(pending)} items pending`,
      );

    // 3. Figures.
    const log = [...fake.requests];
    const accepted = log.filter((r) => !r.rateLimited && r.status !== null);
    const limited = log.filter((r) => r.rateLimited);
    const byKind = new Map<string, number>();
    for (const r of log) {
      const kind = `${r.method} ${r.path.startsWith('/v2/contacts/') ? '/v2/contacts/{key}' : r.path} ${r.status ?? 'reset'}`;
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
    }
    const arrivals = Float64Array.from(accepted.map((r) => r.at)).sort();
    const first = arrivals[0] ?? NaN;
    const last = arrivals.at(-1) ?? NaN;
    const p5 = percentile(arrivals, 5);
    const p95 = percentile(arrivals, 95);
    const steadyCount = accepted.filter((r) => r.at >= p5 && r.at <= p95).length;
    const steadyRate = steadyCount / ((p95 - p5) / 1000);
    const overallRate = accepted.length / ((last - first) / 1000);
    // From app.start() to nothing pending: what an operator waits for, start-up and tail included.
    const effectiveRate = accepted.length / syncSeconds;
    const firstRequestSeconds = ((log[0]?.at ?? NaN) - syncStarted) / 1000;
    // Accepted per whole second inside the steady period.
    const perSecond: number[] = [];
    for (let t = p5; t + 1000 <= p95; t += 1000) {
      let c = 0;
      for (const r of accepted) if (r.at >= t && r.at < t + 1000) c++;
      perSecond.push(c);
    }
    const secondsDist = Float64Array.from(perSecond).sort();
    const insideFake = fake.requestsInsideRetryAfter();
    const violations = clientViolations(trace, handled429, log);

    let removalOnlyUpdates = 0;
    const items = await bench.itemTotals();
    // Removals of a (contact, list) no add was ever acknowledged for: owed by the store in case an
    // add went out and its reply was lost; and the contact updates that carried nothing else.
    let neverAddedRemovals = 0;
    {
      const added = new Set<string>();
      const updates = new Map<string, boolean>();
      const rows = await bench.acknowledged();
      for (const r of rows) {
        const key = `${r.contact} ${r.list}`;
        const owed = !r.value && !added.has(key);
        if (r.value) added.add(key);
        if (owed) neverAddedRemovals++;
        const update = `${r.contact} ${r.at} ${r.request}`;
        updates.set(update, (updates.get(update) ?? true) && owed);
      }
      removalOnlyUpdates = [...updates.values()].filter(Boolean).length;
    }
    const logRows = await bench.logResults();
    if (items.dead > 0) problems.push(`${fmt(items.dead)} items dead-lettered`);
    if (items.pending > 0) problems.push(`${fmt(items.pending)} items still pending`);
    const mirrored = await checkMirrored(app, fake);
    problems.push(...mirrored.problems);

    const minimal = items.contactsDesired;
    const ratio = steadyRate / opts.rate;
    const syncedChanges = changes - heldOutChanges;
    console.log(
      `sync: outbox read within ${fmt(((outboxReadAt ?? NaN) - syncStarted) / 1000, 2)} s (while sending); ${fmt(syncSeconds, 1)} s until nothing was pending (the minimum number of requests at R would take ${fmt(minimal / opts.rate, 1)} s); CPU ${fmt((cpu.user + cpu.system) / 1e6 / syncSeconds, 2)} cores busy; event-loop delay p99 ${fmt(loopDelay.percentile(99) / 1e6, 1)} ms, max ${fmt(loopDelay.max / 1e6, 1)} ms; load average ${load()}`,
    );
    console.log(
      `requests: ${fmt(log.length)} (${fmt(accepted.length)} accepted, ${fmt(limited.length)} answered 429): ${[
        ...byKind,
      ]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ×${fmt(v)}`)
        .join(', ')}`,
    );
    console.log(
      `rate: ${fmt(steadyRate, 1)} accepted/s over the steady period (${fmt((p95 - p5) / 1000, 1)} s, 5th–95th percentile of arrivals) = ${fmt(ratio, 3)} × R; first to last request ${fmt(overallRate, 1)}/s over ${fmt((last - first) / 1000, 1)} s; app.start() to nothing pending ${fmt(effectiveRate, 1)}/s = ${fmt(effectiveRate / opts.rate, 3)} × R (first request ${fmt(firstRequestSeconds, 2)} s after app.start()); per second in the steady period: min ${fmt(secondsDist[0] ?? NaN)}, p10 ${fmt(percentile(secondsDist, 10))}, median ${fmt(percentile(secondsDist, 50))}, max ${fmt(secondsDist.at(-1) ?? NaN)}`,
    );
    console.log(
      `baseline: R = ${fmt(opts.rate)} requests/s (the account's limit, enforced by the fake); achieved/R = ${fmt(ratio, 3)} (target ≥ ${TARGET_RATE_RATIO})`,
    );
    console.log(
      `429 waits: ${fmt(limited.length)} 429s${
        limited.length
          ? ` (at ${limited
              .slice(0, 5)
              .map((r) => `+${fmt((r.at - syncStarted) / 1000, 2)} s`)
              .join(', ')}${limited.length > 5 ? ', …' : ''} after the sync started)`
          : ''
      }; requests whose headers Handoff wrote inside a 429's Retry-After wait (undici diagnostics): ${fmt(violations.afterReceipt)} after the 429's headers had arrived, of which ${fmt(violations.afterHandled)} passed the rate gate after Handoff had handled the 429 (must be 0)${violations.examples.length ? `: ${violations.examples.join('; ')}` : ''}`,
    );
    console.log(
      `  fake's view: ${fmt(insideFake.length)} arrivals after a 429 left the fake and before its Retry-After (counts requests Handoff's other ${opts.concurrency - 1} lanes already had in flight; with one process for both, the fake's arrival time is when its handler ran, not when the bytes left Handoff)`,
    );
    console.log(
      `coalescing: ${fmt(changes)} changes (${fmt(syncedChanges)} not held out) → ${fmt(items.items)} (contact, list) items → ${fmt(sent.updates)} contact updates in ${fmt(sent.rounds)} rounds → ${fmt(log.length)} HTTP requests; changes ÷ requests ${fmt(changes / log.length, 2)}, items sent ÷ contact updates ${fmt(sent.items / Math.max(1, sent.updates), 2)}`,
    );
    console.log(
      `baseline: minimum ${fmt(minimal)} requests (one per contact with a net change: on at least one list at the end); sent ${fmt(log.length)} = ${fmt(log.length / Math.max(1, minimal), 2)} × minimum (${fmt(sent.updates)} contact updates = ${fmt(sent.updates / Math.max(1, minimal), 2)} ×); ${fmt(items.removalsSent)} removals were acknowledged, ${fmt(neverAddedRemovals)} of them for a (contact, list) never added (owed in case an add's reply was lost), ${fmt(removalOnlyUpdates)} contact updates carried only such removals`,
    );
    console.log(
      `item sends logged: ${Object.entries(logRows)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(', ')}; lists: ${Object.entries(mirrored.sizes)
        .map(([k, v]) => `${k} ${fmt(v)}`)
        .join(
          ', ',
        )}; ${mirrored.problems.length === 0 ? 'every list equals its audience (held-out members excluded)' : 'LISTS DISAGREE'}`,
    );

    const table = [
      `| part 1: ${fmt(changes)} changes over ${fmt(touched)} contacts, R = ${fmt(opts.rate)}/s${opts.handoffRate !== opts.rate ? ` (Handoff configured for ${fmt(opts.handoffRate)}/s)` : ''}, concurrency ${opts.concurrency}, ${fmt(opts.existing * 100)}% of contacts already in Cordial | |`,
      '|---|---|',
      `| accepted rate, steady period | ${fmt(steadyRate, 1)} req/s = ${fmt(ratio, 3)} × R (target ≥ ${TARGET_RATE_RATIO}: ${ratio >= TARGET_RATE_RATIO ? 'met' : 'MISSED'}) |`,
      `| app.start() → nothing pending | ${fmt(syncSeconds, 1)} s = ${fmt(effectiveRate, 1)} req/s (${fmt(effectiveRate / opts.rate, 3)} × R); first request after ${fmt(firstRequestSeconds, 2)} s |`,
      `| requests / 429s | ${fmt(log.length)} / ${fmt(limited.length)} |`,
      `| requests inside a 429's Retry-After: gated after Handoff handled the 429; written after its headers arrived; fake's view | ${fmt(violations.afterHandled)}; ${fmt(violations.afterReceipt)}; ${fmt(insideFake.length)} |`,
      `| coalescing: changes ÷ requests; items ÷ contact updates | ${fmt(changes / log.length, 2)}; ${fmt(sent.items / Math.max(1, sent.updates), 2)} |`,
      `| requests vs minimum (one per contact with a net change) | ${fmt(log.length)} vs ${fmt(minimal)} (${fmt(log.length / Math.max(1, minimal), 2)} ×) |`,
      `| lists equal audiences (non-held-out) | ${mirrored.problems.length === 0 ? 'yes' : 'NO'} |`,
    ];
    return {
      problems,
      table,
      summary: {
        changes,
        heldOutChanges,
        events: messageCount,
        contacts: touched,
        existing: opts.existing,
        rate: opts.rate,
        handoffRate: opts.handoffRate,
        concurrency: opts.concurrency,
        syncSeconds: Number(syncSeconds.toFixed(1)),
        eventLoopDelayMaxMs: Math.round(loopDelay.max / 1e6),
        effectiveRate: Number(effectiveRate.toFixed(1)),
        firstRequestSeconds: Number(firstRequestSeconds.toFixed(2)),
        requests: log.length,
        accepted: accepted.length,
        rateLimited: limited.length,
        steadyRate: Number(steadyRate.toFixed(1)),
        rateRatio: Number(ratio.toFixed(3)),
        insideRetryAfterHandled: violations.afterHandled,
        insideRetryAfterReceived: violations.afterReceipt,
        insideRetryAfterFake: insideFake.length,
        items: items.items,
        contactUpdates: sent.updates,
        changesPerRequest: Number((changes / log.length).toFixed(2)),
        itemsPerUpdate: Number((sent.items / Math.max(1, sent.updates)).toFixed(2)),
        minimalRequests: minimal,
        requestsOverMinimal: Number((log.length / Math.max(1, minimal)).toFixed(2)),
        removalsSent: items.removalsSent,
        neverAddedRemovals,
        removalOnlyUpdates,
        listsMatch: mirrored.problems.length === 0,
      },
    };
  } finally {
    trace?.stop();
    await app.stop();
    await fake.close();
    await bench.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
