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
 * `--bulk [--members 200000] [--exits 100000] [--rate 10] [--rows-per-second 1000] [--poll 5] [--s3]`
 * runs bulk imports instead (bench/sync/bulk.ts): a new trait audience of `--members` contacts,
 * all already in the fake account, first synced to an empty list, then `--exits` of them leave;
 * the fake allows R requests/s (default 10 here) and processes import rows at `--rows-per-second`,
 * one job at a time; Handoff serves the files itself, or with `--s3` puts them in a fake S3 bucket,
 * and then 1% of the list drifts and `sync reconcile --verify` reads it back by one export job
 * (at 5 × `--rows-per-second`) and repairs it. Per phase: time until the list equals the
 * audience and nothing is pending, Handoff's own part of it (the time with no job at the fake,
 * from Handoff's submission to the fake's end of it), requests by endpoint, jobs, and the
 * per-contact baseline (rows ÷ R).
 *
 * Prints each part's figures with its baseline (R, the minimum number of requests), a Markdown
 * table and a one-line JSON summary. `--quick` is 10,000 changes over 3,000 contacts and 3 s of
 * latency (about a minute in all; the defaults take about 7 minutes, most of it part 1 sending
 * at R). `--only 1|2` runs one part; `--existing 0` makes every part-1 contact new to Cordial.
 * Temp files are removed.
 * Exit status 1 when a list disagrees with its audience, an item is dead-lettered or left
 * pending, or an event was not delivered (not for missing the targets).
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { load } from './sync/common.ts';
import { part2 } from './sync/latency.ts';
import { STORE_OPTION, storeKind } from './lib.ts';
import { part1 } from './sync/throughput.ts';
import { bulkBench } from './sync/bulk.ts';

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
      ...STORE_OPTION,
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      bulk: { type: 'boolean', default: false },
      members: { type: 'string', default: '200000' },
      exits: { type: 'string', default: '100000' },
      'rows-per-second': { type: 'string', default: '1000' },
      poll: { type: 'string', default: '5' },
      s3: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:sync -- [--changes 100000] [--contacts 30000] [--rate 200] [--handoff-rate R] [--concurrency 8] [--existing 1] [--latency-rate 200] [--latency-seconds 10] [--seed 1] [--only 1|2] [--quick] [--store sqlite|postgres]\n' +
        '  --quick: 10,000 changes over 3,000 contacts and 3 s of latency events (about a minute)\n' +
        '  --existing: fraction of contacts already in the fake Cordial account in part 1 (others are created: PUT 404 + POST)\n' +
        "  --handoff-rate: Handoff's rateLimit in part 1 when it should differ from the account's R (a misconfiguration: exercises 429 waits)\n" +
        "  --store postgres: keep Handoff's data in a fresh schema of HANDOFF_TEST_DATABASE_URL (default: the local server's `test` database), dropped afterwards\n" +
        'npm run bench:sync -- --bulk [--members 200000] [--exits 100000] [--rate 10] [--rows-per-second 1000] [--poll 5] [--s3] [--store sqlite|postgres]\n' +
        '  --bulk: a new audience of --members through import jobs, then --exits of them leave; --s3 keeps the files in a fake S3 bucket and then verifies the list by export',
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
    store: storeKind(values.store),
    only: values.only,
    bulk: values.bulk
      ? {
          members: positive('members', values.members),
          exits: positive('exits', values.exits),
          rate: positive('rate', values.rate === '200' ? '10' : values.rate, false),
          rowsPerSecond: positive('rows-per-second', values['rows-per-second'], false),
          pollSeconds: positive('poll', values.poll, false),
          s3: values.s3,
        }
      : undefined,
  };
}

async function main(): Promise<void> {
  const opts = options();
  console.log(
    `handoff sync benchmark against the fake Cordial; node ${process.version}, ${cpus().length} CPUs, load average ${load()}`,
  );
  const problems: string[] = [];
  const tables: string[][] = [];
  const summary: Record<string, unknown> = { node: process.version, cpus: cpus().length, store: opts.store };
  if (opts.bulk) {
    const r = await bulkBench(opts.bulk);
    problems.push(...r.problems);
    tables.push(r.table);
    summary.bulk = r.summary;
  } else if (opts.only !== '2') {
    const r = await part1(opts);
    problems.push(...r.problems);
    tables.push(r.table);
    summary.throughput = r.summary;
  }
  if (!opts.bulk && opts.only !== '1') {
    const r = await part2({
      rate: opts.latencyRate,
      seconds: opts.latencySeconds,
      concurrency: opts.concurrency,
      store: opts.store,
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
