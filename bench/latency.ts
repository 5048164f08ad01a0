/**
 * `npm run bench:latency [-- --rate 1000 --seconds 20 --wakeups 1000000 --window 45 --only a|b --profile [out.cpuprofile]]`
 * `npm run bench:latency -- --store postgres [--only a --processes 3 | --only b --due 45000]`
 *
 * Serve-mode latency of the engine, in two parts, each on a fresh temp SQLite file with the 13
 * reference audiences of examples/handoff.yaml:
 *
 * A. Enter latency. A real Handoff server runs in this process (createApp + buildServer,
 *    `app.start()`, 127.0.0.1:0). A worker thread (remote clients do not share the server's event
 *    loop) sends `Product Added` as single `/v1/track` calls, paced open-loop at `--rate` per second
 *    for `--seconds`, after `--warmup` seconds (default 5) of the same traffic from shoppers of its
 *    own that are not measured: connections opened, statements prepared and code compiled, as in
 *    a service that has been running. 70% come from a new anonymous shopper, 30% from one seen before. Per event:
 *    the time from the client receiving its HTTP 200 to the moment its `cart_0_4h` enter change is
 *    committed (the app bus's `engine.changes`, emitted right after the commit, mapped back through
 *    cause.messageId). Negative means the enter was committed before the 200 reached the client.
 *    Also shown: from the server finishing the response (Fastify onResponse) to the commit. Events
 *    with no enter are expected only for shoppers already in the audience. At most
 *    `--max-in-flight` requests are outstanding: an overloaded server shows as an achieved rate
 *    below the offered one and as request latency, not as thousands of sockets. `--per-request N`
 *    sends /v1/batch calls of N instead; `--ingest-only` never starts the processor (what ingest
 *    alone sustains, for comparison). `--store postgres` runs it on a fresh PostgreSQL schema;
 *    `--processes N` (PostgreSQL) runs N serve processes with roles `all` on that schema as child
 *    processes and sends the requests to them in turn: most events are then accepted by a
 *    process that does not hold the processor lease, and reach it as a signal. `--jobs-process`
 *    adds a serve process with roles `jobs` (the processor and every other job) and makes the N
 *    `--roles ingest`: no process both answers requests and processes, as a deployment that
 *    splits the roles runs.
 * B. Wake-up lateness (`--store postgres`: on a fresh schema). `--wakeups` profiles each get one `Product Added` stamped so that its 4h
 *    deadline (the cart_0_4h exit) falls in a `--window`-second span of wall time starting shortly
 *    after set-up; deadlines are spread at random over the span. The events are appended and
 *    processed by the app's own processor on the system clock (not part of the measurement; the
 *    lead time is sized from a pilot run so set-up finishes first). Then `app.start()` starts the
 *    scheduler on the real clock and, for every exit, lateness = change.at − deadline (when the
 *    wake-up decided it) and commit − deadline (when it was committed). Keeping up needs
 *    due/window wake-ups per second. `--due N` makes only N of the wake-ups fall in the window and
 *    the rest hours later, so the pending count and the firing rate can be told apart.
 *
 * Prints a Markdown table and a one-line JSON summary. Temp files are removed.
 * `--profile [f]` CPU-profiles part A's sending phase and part B's wake-up phase (f-a.cpuprofile,
 * f-b.cpuprofile) and prints the top self-time functions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { gc } from './engine/setup.ts';
import { fmt } from './lib.ts';
import {
  TARGET_ENTER_P99_MS,
  TARGET_ENTER_P99_PROCESSES_MS,
  TARGET_LATENESS_P99_MS,
  round,
  showDist,
} from './latency/common.ts';
import { options } from './latency/options.ts';
import type { PartA } from './latency/part-a.ts';
import { partA } from './latency/part-a.ts';
import { partAProcesses } from './latency/part-a-processes.ts';
import type { PartB } from './latency/part-b.ts';
import { partB } from './latency/part-b.ts';

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = options();
  const enterTarget = opts.processes > 1 ? TARGET_ENTER_P99_PROCESSES_MS : TARGET_ENTER_P99_MS;
  console.log(
    `handoff latency benchmark: A) ${fmt(opts.rate)} events/s for ${opts.seconds} s (after ${opts.warmup} s of warm-up) as ${opts.perRequest === 1 ? '/v1/track calls' : `/v1/batch calls of ${opts.perRequest}`}; B) ${fmt(opts.wakeups)} wake-ups pending, ${fmt(opts.due)} of them due over ${opts.window} s; 13 reference audiences; node ${process.version}, ${cpus().length} CPUs`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'handoff-latency-'));
  const cleanup = (): void => rmSync(dir, { recursive: true, force: true });
  const interrupted = (): void => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  const problems: string[] = [];
  try {
    let a: PartA | undefined;
    let b: PartB | undefined;
    if (opts.only !== 'b') {
      a = opts.processes > 1 || opts.jobsProcess ? await partAProcesses(opts) : await partA(dir, opts);
      console.log(
        `A: sent ${fmt(a.sent)} at ${fmt(a.rate)} events/s, ${fmt(a.acked)} acknowledged (request ${showDist(a.requestLatency)}); ${fmt(a.enters)} cart_0_4h enters in ${fmt(a.batches)} processor batches (mean ${fmt(a.meanBatch, 1)} events)`,
      );
      console.log(`A: ack (client got 200) → enter committed: ${showDist(a.ackToCommit)}`);
      console.log(`A: server response done → enter committed: ${showDist(a.serverToCommit)}`);
      console.log(`A: request sent → enter committed: ${showDist(a.sendToCommit)}`);
      console.log(
        `A: ${fmt(a.noEnter)} events had no enter: ${fmt(a.noEnterAlreadyMember)} from shoppers already in the audience; ${fmt(a.noEnterUnexplained)} of ${fmt(a.shoppers)} shoppers never entered`,
      );
      for (const f of a.failures.slice(0, 5)) problems.push(`A: ${f}`);
      if (a.failures.length > 5) problems.push(`A: … and ${a.failures.length - 5} more failed requests`);
      if (a.noEnterUnexplained > 0 && !opts.ingestOnly)
        problems.push(`A: ${a.noEnterUnexplained} shoppers never entered cart_0_4h`);
      gc();
    }
    if (opts.only !== 'a') {
      b = await partB(dir, opts);
      console.log(
        `B: ${fmt(b.exits)} of ${fmt(b.due)} due exits fired (and ${fmt(b.enters4to24)} cart_4_24h enters); lateness (change.at − deadline): ${showDist(b.lateness)}`,
      );
      console.log(`B: commit − deadline: ${showDist(b.commitLateness)}`);
      console.log(
        `B: wake-ups processed at ${fmt(b.wakeRate)}/s (process ${fmt(b.cpuBusy, 2)} cores busy, ${fmt(b.cpuMicrosPerWake)} µs CPU per exit${b.cpuBusy > 0.8 ? `, so at most ~${fmt(1e6 / b.cpuMicrosPerWake)}/s on one core` : ''}); keeping up needs ${fmt(b.neededPerSec)}/s; last exit ${fmt(b.firstExitToLastSeconds, 1)} s after the first; RSS peak ${fmt(b.rssPeakMb)} MB`,
      );
      if (b.exits < b.due) problems.push(`B: only ${b.exits} of ${b.due} due exits fired`);
    }

    const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    const where = opts.jobsProcess
      ? `${opts.processes} serve --roles ingest ${opts.processes > 1 ? 'processes, requests in turn,' : 'process'} and one serve --roles jobs on one PostgreSQL schema`
      : opts.processes > 1
        ? `${opts.processes} serve processes on one PostgreSQL schema, requests in turn`
        : `serve mode, ${opts.store}`;
    const lines = ['', `| ${where}, 13 audiences, ${cpus().length} CPUs | |`, '|---|---|'];
    if (a) {
      lines.push(
        `| A: ${fmt(a.acked)} Product Added via ${opts.perRequest === 1 ? '/v1/track' : `/v1/batch × ${opts.perRequest}`}, offered ${fmt(opts.rate)}/s, achieved ${fmt(a.rate)}/s | ack → enter committed ${showDist(a.ackToCommit)} |`,
        `| A: request latency (send → 200) | ${showDist(a.requestLatency)} |`,
        `| A: server response → enter committed | ${showDist(a.serverToCommit)} |`,
        `| A: events without an enter | ${fmt(a.noEnter)} (${fmt(a.noEnterAlreadyMember)} already members) |`,
        `| A: target p99 ≤ ${enterTarget} ms at ${fmt(opts.rate)} events/s (sustained: ≥ 95% of offered) | ${verdict(a.ackToCommit.p99 <= enterTarget)}; rate ${verdict(a.rate >= 0.95 * opts.rate)} |`,
      );
    }
    if (b) {
      lines.push(
        `| B: ${fmt(b.wakeups)} wake-ups pending, ${fmt(b.due)} due over ${b.windowSeconds} s | ${fmt(b.exits)} exits fired; lateness ${showDist(b.lateness)} |`,
        `| B: commit − deadline | ${showDist(b.commitLateness)} |`,
        `| B: wake-up rate achieved / needed | ${fmt(b.wakeRate)}/s / ${fmt(b.neededPerSec)}/s (${fmt(b.cpuBusy, 2)} cores busy, ${fmt(b.cpuMicrosPerWake)} µs CPU per exit; set-up processed ${fmt(b.processRate)} events/s) |`,
        `| B: target p99 ≤ ${fmt(TARGET_LATENESS_P99_MS)} ms late | ${verdict(b.lateness.p99 <= TARGET_LATENESS_P99_MS)} |`,
      );
    }
    console.log([...lines, ''].join('\n'));
    console.log(
      JSON.stringify({
        ...(a
          ? {
              a: {
                offered: opts.rate,
                store: opts.store,
                processes: opts.processes,
                jobsProcess: opts.jobsProcess,
                perRequest: opts.perRequest,
                rate: Math.round(a.rate),
                acked: a.acked,
                ackToCommitMs: round(a.ackToCommit),
                serverToCommitMs: round(a.serverToCommit),
                sendToCommitMs: round(a.sendToCommit),
                requestMs: round(a.requestLatency),
                noEnter: a.noEnter,
                noEnterAlreadyMember: a.noEnterAlreadyMember,
                shoppersNeverEntered: a.noEnterUnexplained,
                meanBatch: Number(a.meanBatch.toFixed(1)),
                sustained: a.rate >= 0.95 * opts.rate,
                ok: a.ackToCommit.p99 <= enterTarget && a.rate >= 0.95 * opts.rate,
              },
            }
          : {}),
        ...(b
          ? {
              b: {
                wakeups: b.wakeups,
                due: b.due,
                windowSeconds: b.windowSeconds,
                exits: b.exits,
                latenessMs: round(b.lateness, 0),
                commitLatenessMs: round(b.commitLateness, 0),
                wakeRatePerSec: Math.round(b.wakeRate),
                cpuMicrosPerWake: Math.round(b.cpuMicrosPerWake),
                cpuBusy: Number(b.cpuBusy.toFixed(2)),
                neededPerSec: Math.round(b.neededPerSec),
                setupProcessRate: Math.round(b.processRate),
                pastDueAtStart: b.pastDueAtStart,
                rssPeakMb: Math.round(b.rssPeakMb),
                ok: b.lateness.p99 <= TARGET_LATENESS_P99_MS,
              },
            }
          : {}),
        node: process.version,
        cpus: cpus().length,
        ok: problems.length === 0,
      }),
    );
    if (problems.length > 0) {
      console.error(`PROBLEMS:\n  ${problems.join('\n  ')}`);
      process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', interrupted);
    cleanup();
  }
}

if (isMainThread) await main();
