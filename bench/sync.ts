/**
 * `npm run bench:sync [-- --changes 100000 --contacts 30000 --rate 200 --concurrency 8 --quick]`
 *
 * Cordial sync against the fake Cordial account (test/fakes/cordial), in two parts, each on a fresh
 * temp SQLite file with three audiences that sync to Cordial lists (viewed-7d with a 5% holdout,
 * cart-0-4h, purchased-7d with priority 100):
 *
 * 1. Throughput under a rate limit. The fake enforces `--rate` R requests/s with its own token
 *    bucket on the real clock; Handoff's `destinations.cordial.rateLimit` is set to R, as an
 *    operator would, with `--concurrency` requests in flight. The membership changes are written
 *    the honest way: generated Segment messages (identify, then Product Viewed / Product Added /
 *    Order Completed at random over `--contacts` shoppers, so that viewers and purchasers enter and
 *    cart members enter and exit) are ingested through the app's IngestService and processed by its
 *    Processor until the engine has written at least `--changes` changes to the outbox (not timed;
 *    nothing is sent meanwhile). `--existing` of the contacts are seeded in the fake beforehand (an
 *    established account; the others cost Handoff a PUT that 404s and a POST that creates them).
 *    Then `app.start()` runs the sync on the real clock (outbox reader + send timer, as `serve`
 *    does) until the outbox is read and nothing is pending. Measured from the fake's request log:
 *    requests, 429s, the accepted rate over the steady period (5th to 95th percentile of accepted
 *    arrivals) against R; requests inside the Retry-After wait of an earlier 429, three ways:
 *    (a) the fake's view, arrival after the 429 left the fake (a request a concurrent client
 *    already had in flight counts against it); from undici's diagnostics channels in Handoff's
 *    process, request headers written to the socket before that 429's Retry-After instant and
 *    (b) after the 429's response headers had arrived, of which (c) the requests created (undici
 *    creates one in the same step as CordialDestination passes the rate gate) after Handoff had
 *    handled the 429 (send returned it to the worker, which pauses the limiter at once). (c) must
 *    be 0; (b) also counts lanes that had passed the gate before the 429 was handled.
 *    `--handoff-rate` sets Handoff's rateLimit apart from R, to exercise 429 waits. Coalescing:
 *    changes ÷ requests, items ÷ contact updates, and the minimum, one request per contact with a
 *    net change. Finally every list in the fake must equal its audience's members that are not
 *    held out.
 * 2. Latency, not rate limited: a fake with no limit, Handoff's rateLimit 100,000/s. A Handoff
 *    server (createApp + buildServer + `app.start()`, 127.0.0.1:0) receives one `/v1/track`
 *    Product Added per new shopper (email in context.traits), paced open-loop at `--latency-rate`
 *    per second for `--latency-seconds`, from a worker thread (remote clients do not share the
 *    server's event loop). On a busy 2-core machine (durable commits of 2–3 ms, other processes
 *    on the CPUs) 200/s can saturate the server's one thread, and the figure then measures
 *    queueing: a warning is printed when the server acknowledges less than 95% of the pace, and
 *    the run prints one durable commit's cost and the load average. Half of the shoppers already
 *    exist in the fake. Per event: the client's HTTP 200 → the fake having applied the shopper's
 *    cart-0-4h membership (the `respondedAt` of the PUT 200 / POST 2xx that carried
 *    `"cart-0-4h": true`), split into 200 → enter committed (the app bus's `engine.changes`) and
 *    committed → applied. 20 warm-up events go first, not measured.
 *
 * Prints each part's figures with its baseline (R, the minimum number of requests), a Markdown
 * table and a one-line JSON summary. `--quick` is 10,000 changes over 3,000 contacts and 3 s of
 * latency (about a minute in all; the defaults take about 7 minutes, most of it part 1 sending
 * at R). `--only 1|2` runs one part; `--existing 0` makes every part-1 contact new to Cordial.
 * Temp files are removed.
 * Exit status 1 when a list disagrees with its audience, an item is dead-lettered or left
 * pending, or an event was not delivered (not for missing the targets).
 */
import Database from 'better-sqlite3';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { stringify } from 'yaml';
import type { App } from '../src/app/app.ts';
import { createApp } from '../src/app/app.ts';
import type { Config } from '../src/config/load.ts';
import { parseConfig } from '../src/config/load.ts';
import { buildServer } from '../src/server/server.ts';
import { openSqlite } from '../src/store/sqlite/database.ts';
import type { FakeCordial, RecordedRequest } from '../test/fakes/cordial/index.ts';
import { startFakeCordial } from '../test/fakes/cordial/index.ts';
import { Rng } from './generate/index.ts';
import { fmt, percentile, runOnWorker, sleep, wall } from './lib.ts';

const TARGET_RATE_RATIO = 0.9;
const WRITE_KEY = 'bench-sync-write-key';
const CORDIAL_KEY = 'bench-sync-cordial-key';
const HOUR = 3_600_000;
const WARM_UP_EVENTS = 20;

/** Wall-clock ms with sub-ms precision, comparable across threads. */

interface Dist {
  n: number;
  p50: number;
  p99: number;
  max: number;
}
function dist(values: number[]): Dist {
  const s = Float64Array.from(values).sort();
  return { n: s.length, p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}
const showDist = (d: Dist): string =>
  `p50 ${fmt(d.p50, 1)} ms, p99 ${fmt(d.p99, 1)} ms, max ${fmt(d.max, 1)} ms (n=${fmt(d.n)})`;
const roundDist = (d: Dist) => ({
  n: d.n,
  p50: Number(d.p50.toFixed(1)),
  p99: Number(d.p99.toFixed(1)),
  max: Number(d.max.toFixed(1)),
});

// ---------------------------------------------------------------------------------------------
// The audiences and the app.

const LISTS = { viewed: 'viewed-7d', cart: 'cart-0-4h', purchased: 'purchased-7d' } as const;

const AUDIENCES = [
  {
    key: 'viewed_7d',
    name: 'BR | Viewed | 7d',
    purpose: 'browse retargeting',
    channels: ['paid_social'],
    ttl: '7d',
    holdout: 5,
    condition: { type: 'event', event: 'Product Viewed', within: '7d' },
    destinations: [{ cordial: { list: LISTS.viewed } }],
  },
  {
    key: 'cart_0_4h',
    name: 'CI | Cart | 0-4h | No Purchase',
    purpose: 'cart reminder',
    channels: ['email'],
    ttl: '4h',
    condition: {
      all: [
        { type: 'event', event: 'Product Added', within: '4h' },
        { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
      ],
    },
    destinations: [{ cordial: { list: LISTS.cart } }],
  },
  {
    key: 'purchased_7d',
    name: 'SUP | Purchased | 7d',
    purpose: 'suppress recent buyers',
    channels: ['email', 'paid_social'],
    ttl: '7d',
    priority: 100,
    condition: { type: 'event', event: 'Order Completed', within: '7d' },
    destinations: [{ cordial: { list: LISTS.purchased } }],
  },
];

function benchConfig(dbPath: string, fake: FakeCordial, rateLimit: number, concurrency: number): Config {
  const text = stringify({
    storage: { sqlite: { path: dbPath } },
    sources: [{ id: 'web', writeKey: { env: 'HANDOFF_BENCH_WRITE_KEY' } }],
    destinations: {
      cordial: {
        baseUrl: fake.baseUrl,
        apiKey: { env: 'HANDOFF_BENCH_CORDIAL_KEY' },
        rateLimit,
        concurrency,
      },
    },
    audiences: AUDIENCES,
  });
  const parsed = parseConfig(text, 'bench-sync.yaml', {
    HANDOFF_BENCH_WRITE_KEY: WRITE_KEY,
    HANDOFF_BENCH_CORDIAL_KEY: CORDIAL_KEY,
  });
  if (!parsed.ok) throw new Error(`${parsed.error.message}: ${JSON.stringify(parsed.error.problems)}`);
  return parsed.value;
}

const emailOf = (prefix: string, i: number): string => `${prefix}${i}@example.com`;

/** Every list holds exactly its audience's members that are not held out; returns the problems. */
async function checkMirrored(
  app: App,
  fake: FakeCordial,
): Promise<{ problems: string[]; sizes: Record<string, number> }> {
  const problems: string[] = [];
  const sizes: Record<string, number> = {};
  for (const a of AUDIENCES) {
    const list = a.destinations[0]!.cordial.list;
    const expected: string[] = [];
    for (const m of await app.store.audiences.members(a.key)) {
      if (m.heldOut) continue;
      const profile = await app.store.identity.getProfile(m.profileId);
      const email = profile?.identifiers.find((i) => i.kind === 'email');
      expected.push(email?.address ?? email?.value ?? `(no email: ${m.profileId})`);
    }
    expected.sort();
    const actual = fake.lists().some((l) => l.name === list) ? fake.listMembers(list) : [];
    sizes[list] = actual.length;
    const want = new Set(expected);
    const have = new Set(actual);
    const missing = expected.filter((e) => !have.has(e));
    const extra = actual.filter((e) => !want.has(e));
    if (missing.length > 0 || extra.length > 0)
      problems.push(
        `list ${list}: ${fmt(actual.length)} members, expected ${fmt(expected.length)}; missing ${missing.length} (${missing.slice(0, 3).join(', ')}), extra ${extra.length} (${extra.slice(0, 3).join(', ')})`,
      );
  }
  return { problems, sizes };
}

// ---------------------------------------------------------------------------------------------
// Client-side request timing, from undici's diagnostics channels (Handoff's CordialClient uses undici).

interface ClientTrace {
  /**
   * Request headers written to the socket (wall ms), and when the request was created: right
   * after CordialDestination passed the rate gate, in the same synchronous step.
   */
  sent: { t: number; created: number; method: string; path: string }[];
  /** 429 response headers received: wall ms, method, path, Retry-After seconds. */
  limited: { t: number; method: string; path: string; retryAfter: number | undefined }[];
  stop(): void;
}

interface UndiciRequestLike {
  origin?: unknown;
  method?: string;
  path?: string;
}

function traceClient(origin: string): ClientTrace {
  const trace: ClientTrace = { sent: [], limited: [], stop: () => {} };
  const ours = (r: UndiciRequestLike | undefined): r is UndiciRequestLike =>
    r !== undefined && String(r.origin).replace(/\/+$/, '') === origin;
  const created = new WeakMap<object, number>();
  const onCreate = (message: unknown): void => {
    const { request } = message as { request?: UndiciRequestLike };
    if (ours(request)) created.set(request, wall());
  };
  const onSend = (message: unknown): void => {
    const t = wall();
    const { request } = message as { request?: UndiciRequestLike };
    if (ours(request))
      trace.sent.push({
        t,
        created: created.get(request) ?? t,
        method: request.method ?? '',
        path: (request.path ?? '').split('?')[0]!,
      });
  };
  const onHeaders = (message: unknown): void => {
    const t = wall();
    const { request, response } = message as {
      request?: UndiciRequestLike;
      response?: { statusCode?: number; headers?: (Buffer | string)[] };
    };
    if (!ours(request) || response?.statusCode !== 429) return;
    let retryAfter: number | undefined;
    const raw = response.headers ?? [];
    for (let i = 0; i + 1 < raw.length; i += 2)
      if (String(raw[i]).toLowerCase() === 'retry-after') retryAfter = Number(String(raw[i + 1]));
    trace.limited.push({
      t,
      method: request.method ?? '',
      path: (request.path ?? '').split('?')[0]!,
      retryAfter,
    });
  };
  subscribe('undici:request:create', onCreate);
  subscribe('undici:client:sendHeaders', onSend);
  subscribe('undici:request:headers', onHeaders);
  trace.stop = () => {
    unsubscribe('undici:request:create', onCreate);
    unsubscribe('undici:client:sendHeaders', onSend);
    unsubscribe('undici:request:headers', onHeaders);
  };
  return trace;
}

/**
 * Requests whose headers Handoff wrote after it had received a 429 and before that 429's
 * Retry-After instant (the fake's: its respondedAt + Retry-After, matched per method and path in
 * order; the client's receipt + Retry-After when unmatched).
 */
function clientViolations(
  trace: ClientTrace,
  handled: readonly number[],
  log: readonly RecordedRequest[],
): { afterReceipt: number; afterHandled: number; examples: string[] } {
  const fakeWaits = new Map<string, RecordedRequest[]>();
  for (const r of log)
    if (r.retryAt !== undefined) {
      const key = `${r.method} ${r.path}`;
      fakeWaits.set(key, [...(fakeWaits.get(key) ?? []), r]);
    }
  // Each 429 as Handoff saw it: its headers' arrival, the moment the destination returned it to
  // the worker (which pauses the limiter right then), and the fake's Retry-After instant.
  const pending = [...handled].sort((a, b) => a - b);
  const waits = trace.limited
    .sort((a, b) => a.t - b.t)
    .map((l) => {
      const match = fakeWaits.get(`${l.method} ${l.path}`)?.shift();
      const until = match?.retryAt ?? l.t + (l.retryAfter ?? 1) * 1000;
      const at = pending.findIndex((h) => h >= l.t);
      const handledAt = at === -1 ? Infinity : pending.splice(at, 1)[0]!;
      return { from: l.t, handledAt, until, what: `${l.method} ${l.path}` };
    });
  let afterReceipt = 0;
  let afterHandled = 0;
  const examples: string[] = [];
  for (const s of trace.sent) {
    const w = waits.find((w) => s.t > w.from && s.t < w.until);
    if (!w) continue;
    afterReceipt++;
    // Decided to send (the gate passed) only after Handoff had the 429 in hand.
    if (s.created > w.handledAt) afterHandled++;
    if (examples.length < 3)
      examples.push(
        `${s.method} ${s.path} written ${fmt(s.t - w.from, 1)} ms after the 429 of ${w.what} arrived and ${fmt(w.until - s.t)} ms before its Retry-After; it passed the rate gate ${s.created > w.handledAt ? `${fmt(s.created - w.handledAt, 1)} ms after` : `${fmt(w.handledAt - s.created, 1)} ms before`} Handoff handled the 429`,
      );
  }
  return { afterReceipt, afterHandled, examples };
}

// ---------------------------------------------------------------------------------------------
// Part 1: throughput under a rate limit.

interface Part1Options {
  changes: number;
  contacts: number;
  rate: number;
  /** Handoff's destinations.cordial.rateLimit; R unless an operator got it wrong. */
  handoffRate: number;
  concurrency: number;
  existing: number;
  seed: string;
}

/**
 * Shop traffic over `contacts` shoppers, on demand: each shopper's first message is an identify
 * with their email; then Product Viewed (35%), Product Added (40%) or Order Completed (25%) for a
 * shopper drawn at random. Stamped in order, `stepMs` apart from `t0`.
 */
class Traffic {
  private readonly rng: Rng;
  private readonly introduced: Uint8Array;
  private seq = 0;
  touched = 0;
  readonly mix = new Map<string, number>();

  constructor(
    private readonly contacts: number,
    seed: string,
    private readonly t0: number,
    private readonly stepMs: number,
  ) {
    this.rng = new Rng(seed);
    this.introduced = new Uint8Array(contacts);
  }

  next(count: number): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    const rng = this.rng;
    const push = (m: Record<string, unknown>): void => {
      const kind = (m.event as string | undefined) ?? (m.type as string);
      this.mix.set(kind, (this.mix.get(kind) ?? 0) + 1);
      out.push({
        ...m,
        messageId: `sync-${this.seq}`,
        timestamp: new Date(this.t0 + this.seq++ * this.stepMs).toISOString(),
      });
    };
    while (out.length < count) {
      const i = rng.int(this.contacts);
      if (!this.introduced[i]) {
        this.introduced[i] = 1;
        this.touched++;
        push({ type: 'identify', userId: `u${i}`, traits: { email: emailOf('c', i), first_name: `C${i}` } });
      }
      const roll = rng.next();
      const product = { product_id: `sku-${rng.int(120)}`, price: 10 + rng.int(90), currency: 'USD' };
      if (roll < 0.35) push({ type: 'track', userId: `u${i}`, event: 'Product Viewed', properties: product });
      else if (roll < 0.75)
        push({ type: 'track', userId: `u${i}`, event: 'Product Added', properties: product });
      else
        push({
          type: 'track',
          userId: `u${i}`,
          event: 'Order Completed',
          properties: { order_id: `o-${this.seq}`, revenue: 20 + rng.int(200), currency: 'USD' },
        });
    }
    return out;
  }

  get messages(): number {
    return this.seq;
  }
}

interface Part1Result {
  summary: Record<string, unknown>;
  table: string[];
  problems: string[];
}

async function part1(opts: Part1Options): Promise<Part1Result> {
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
  const app = createApp({ config: benchConfig(dbPath, fake, opts.handoffRate, opts.concurrency) });
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
    const db = new Database(dbPath, { readonly: true });
    const changeRows = db
      .prepare('SELECT audience, change, held_out AS heldOut, count(*) AS n FROM changes GROUP BY 1, 2, 3')
      .all() as { audience: string; change: string; heldOut: number; n: number }[];
    const changes = changeRows.reduce((s, r) => s + r.n, 0);
    const heldOutChanges = changeRows.filter((r) => r.heldOut).reduce((s, r) => s + r.n, 0);
    const maxSeq = (db.prepare('SELECT max(seq) AS s FROM changes').get() as { s: number }).s;
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
    const items = db
      .prepare(
        `SELECT count(*) AS items, sum(desired) AS desired, count(DISTINCT CASE WHEN desired = 1 THEN contact END) AS contactsDesired,
           count(DISTINCT contact) AS contacts, sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
           sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead, sum(CASE WHEN sent = 0 THEN 1 ELSE 0 END) AS removalsSent
         FROM sync_items WHERE destination = 'cordial'`,
      )
      .get() as {
      items: number;
      desired: number;
      contactsDesired: number;
      contacts: number;
      pending: number;
      dead: number;
      removalsSent: number;
    };
    // Removals of a (contact, list) no add was ever acknowledged for: owed by the store in case an
    // add went out and its reply was lost; and the contact updates that carried nothing else.
    let neverAddedRemovals = 0;
    {
      const added = new Set<string>();
      const updates = new Map<string, boolean>();
      const rows = db
        .prepare(
          `SELECT contact, list, value, request, at FROM sync_log WHERE destination = 'cordial' AND result = 'ok' ORDER BY id`,
        )
        .all() as { contact: string; list: string; value: number; request: string; at: number }[];
      for (const r of rows) {
        const key = `${r.contact} ${r.list}`;
        const owed = r.value === 0 && !added.has(key);
        if (r.value === 1) added.add(key);
        if (owed) neverAddedRemovals++;
        const update = `${r.contact} ${r.at} ${r.request}`;
        updates.set(update, (updates.get(update) ?? true) && owed);
      }
      removalOnlyUpdates = [...updates.values()].filter(Boolean).length;
    }
    const logRows = (
      db
        .prepare(`SELECT result, count(*) AS n FROM sync_log WHERE destination = 'cordial' GROUP BY result`)
        .all() as {
        result: string;
        n: number;
      }[]
    ).reduce<Record<string, number>>((o, r) => ((o[r.result] = r.n), o), {});
    db.close();
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
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Part 2's client, on a worker thread.

interface ClientJob {
  url: string;
  authorization: string;
  rate: number;
  count: number;
}

interface ClientResult {
  /** Per event: wall ms when its 200 was read (NaN if it failed). */
  acked: Float64Array;
  failures: string[];
}

async function sendPaced(job: ClientJob): Promise<ClientResult> {
  const acked = new Float64Array(job.count).fill(NaN);
  const failures: string[] = [];
  const headers = { authorization: job.authorization, 'content-type': 'application/json' };
  const pending = new Set<Promise<void>>();
  const send = (i: number): void => {
    const body = JSON.stringify({
      userId: `l${i}`,
      event: 'Product Added',
      messageId: `latency-${i}`,
      properties: { product_id: `sku-${i % 120}`, price: 25, currency: 'USD' },
      context: { traits: { email: emailOf('l', i) } },
    });
    const p = fetch(job.url, { method: 'POST', headers, body })
      .then(async (res) => {
        const text = await res.text();
        const done = wall();
        if (res.status === 200) acked[i] = done;
        else failures.push(`event ${i}: HTTP ${res.status}: ${text.slice(0, 200)}`);
      })
      .catch((error: Error) => void failures.push(`event ${i}: ${error.message}`))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const started = performance.now();
  for (let i = 0; i < job.count; i++) {
    const wait = started + (i * 1000) / job.rate - performance.now();
    if (wait > 0) await sleep(wait);
    send(i);
  }
  await Promise.all(pending);
  return { acked, failures };
}

if (!isMainThread) {
  const port = parentPort!;
  const job = workerData as ClientJob;
  port.once('message', () => {
    void sendPaced(job).then((result) => port.postMessage(result, [result.acked.buffer as ArrayBuffer]));
  });
  port.postMessage('ready');
}

function sendFromWorker(job: ClientJob): { ready: Promise<void>; go: () => Promise<ClientResult> } {
  return runOnWorker<ClientResult>(import.meta.url, job);
}

// ---------------------------------------------------------------------------------------------
// Part 2: latency, not rate limited.

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

const load = (): string =>
  loadavg()
    .map((l) => fmt(l, 2))
    .join(' / ');

interface Part2Options {
  rate: number;
  seconds: number;
  concurrency: number;
}

async function part2(opts: Part2Options): Promise<Part1Result> {
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
  const app = createApp({ config: benchConfig(dbPath, fake, 100_000, opts.concurrency) });
  const server = buildServer(app);
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
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

function options() {
  const { values } = parseArgs({
    options: {
      changes: { type: 'string' },
      contacts: { type: 'string' },
      rate: { type: 'string', default: '200' },
      'handoff-rate': { type: 'string' },
      concurrency: { type: 'string', default: '8' },
      existing: { type: 'string', default: '1' },
      'latency-rate': { type: 'string', default: '200' },
      'latency-seconds': { type: 'string' },
      seed: { type: 'string', default: '1' },
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:sync -- [--changes 100000] [--contacts 30000] [--rate 200] [--handoff-rate R] [--concurrency 8] [--existing 1] [--latency-rate 200] [--latency-seconds 10] [--seed 1] [--only 1|2] [--quick]\n' +
        '  --quick: 10,000 changes over 3,000 contacts and 3 s of latency events (about a minute)\n' +
        '  --existing: fraction of contacts already in the fake Cordial account in part 1 (others are created: PUT 404 + POST)\n' +
        "  --handoff-rate: Handoff's rateLimit in part 1 when it should differ from the account's R (a misconfiguration: exercises 429 waits)",
    );
    process.exit(0);
  }
  const positive = (name: string, text: string, integer = true): number => {
    const n = Number(text.replace(/[_,]/g, ''));
    if (!(n > 0) || (integer && !Number.isInteger(n)))
      throw new Error(`--${name} must be a positive ${integer ? 'whole ' : ''}number (got ${text})`);
    return n;
  };
  const quick = values.quick;
  const existing = Number(values.existing);
  if (!(existing >= 0 && existing <= 1))
    throw new Error(`--existing must be between 0 and 1 (got ${values.existing})`);
  if (values.only !== undefined && values.only !== '1' && values.only !== '2')
    throw new Error('--only must be 1 or 2');
  return {
    changes: positive('changes', values.changes ?? (quick ? '10000' : '100000')),
    contacts: positive('contacts', values.contacts ?? (quick ? '3000' : '30000')),
    rate: positive('rate', values.rate, false),
    handoffRate: positive('handoff-rate', values['handoff-rate'] ?? values.rate, false),
    concurrency: positive('concurrency', values.concurrency),
    existing,
    latencyRate: positive('latency-rate', values['latency-rate'], false),
    latencySeconds: positive('latency-seconds', values['latency-seconds'] ?? (quick ? '3' : '10'), false),
    seed: values.seed,
    only: values.only,
  };
}

async function main(): Promise<void> {
  const opts = options();
  console.log(
    `handoff sync benchmark against the fake Cordial; node ${process.version}, ${cpus().length} CPUs, load average ${load()}`,
  );
  const problems: string[] = [];
  const tables: string[][] = [];
  const summary: Record<string, unknown> = { node: process.version, cpus: cpus().length };
  if (opts.only !== '2') {
    const r = await part1(opts);
    problems.push(...r.problems);
    tables.push(r.table);
    summary.throughput = r.summary;
  }
  if (opts.only !== '1') {
    const r = await part2({
      rate: opts.latencyRate,
      seconds: opts.latencySeconds,
      concurrency: opts.concurrency,
    });
    problems.push(...r.problems);
    tables.push(r.table);
    summary.latency = r.summary;
  }
  summary.ok = problems.length === 0;
  console.log(`\n${tables.map((t) => t.join('\n')).join('\n\n')}\n`);
  console.log(JSON.stringify(summary));
  if (problems.length > 0) {
    console.error(`FAILED:\n  ${problems.join('\n  ')}`);
    process.exitCode = 1;
  }
}

if (isMainThread) await main();
