/**
 * `npm run bench:segments [-- --members 100000 --page 30000 --churn 0.05]`
 *
 * A Customer.io segment mirrored by polling, against the fake App API (test/fakes/customerio) with
 * its 10 requests/s limit on the real clock. A Handoff app on a fresh temp SQLite file sources one
 * audience from a segment of `--members` people (id and email each):
 *
 * 1. The first poll: every member is new, so each one is resolved (not found), logged as an enter
 *    and processed into a profile and a membership. Timed apart: the API pass (pages, requests and
 *    the peak request rate, against the App API's allowed 10/s), the poll (pass + resolve + diff +
 *    log) and processing the logged enters.
 * 2. A churn poll: `--churn` of the members replaced; every member is resolved to its profile and
 *    only the difference is logged. The audience must then equal the segment.
 *
 * Baselines in the same run: the members per second the App API's rate allows at this page size
 * (10 × page), and raw better-sqlite3 primary-key lookups per second on the same identifiers table
 * (what resolving one member costs at the least).
 * Exit status 1 when the audience disagrees with the segment.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createApp } from '../src/app/app.ts';
import { parseConfig } from '../src/config/load.ts';
import { AppApiClient } from '../src/sources/customerio/app-api.ts';
import { startFakeCustomerIo } from '../test/fakes/customerio/index.ts';
import { STORE_OPTION, count, fmt, storeKind, wall } from './lib.ts';
import { openBenchPostgres } from './postgres.ts';

const { values: args } = parseArgs({
  options: {
    members: { type: 'string', default: '100000' },
    page: { type: 'string', default: '30000' },
    churn: { type: 'string', default: '0.05' },
    ...STORE_OPTION,
  },
});
const store = storeKind(args.store);
const members = count('members', args.members);
const page = count('page', args.page);
const churn = Number(args.churn);

const cio = await startFakeCustomerIo({ defaultLimit: Math.min(page, 30_000) });
const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-segments-'));
const person = (i: number) => ({ id: `u${i}`, email: `u${i}@example.com` });
cio.segments.create(
  'VIP',
  Array.from({ length: members }, (_, i) => person(i)),
);

const parsed = parseConfig(
  stringify({
    storage: { sqlite: { path: join(dir, 'h.db') } },
    customerio: { baseUrl: cio.baseUrl, appApiKey: { env: 'CIO_KEY' }, pageSize: page, maxRemovalShare: 1 },
    audiences: [
      {
        key: 'cio_vip',
        name: 'CIO | VIP',
        purpose: 'benchmark',
        channels: ['email'],
        ttl: 'none',
        source: { customerio: { segmentId: 1 } },
      },
    ],
  }),
  'bench.yaml',
  { CIO_KEY: cio.appApiKey },
);
if (!parsed.ok) throw new Error(parsed.error.message);
const pg = store === 'postgres' ? await openBenchPostgres() : undefined;
const app = createApp({ config: parsed.value, ...(pg ? { store: pg.store } : {}) });

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const start = wall();
  const value = await run();
  return [value, (wall() - start) / 1000];
}

// The API pass alone, on its own client (the app's shares the same 10/s budget afterwards).
const requestsBefore = cio.requests.length;
const [pass, passSeconds] = await timed(() =>
  new AppApiClient({
    baseUrl: cio.baseUrl,
    apiKey: cio.appApiKey,
    requestsPerSecond: 10,
    pageSize: page,
  }).membership(1),
);
if (!pass.ok) throw new Error(pass.error.message);
const passRequests = cio.requests.length - requestsBefore;

const [first, firstSeconds] = await timed(() => app.segments!.poll('cio_vip'));
const [, processSeconds] = await timed(() => app.settle());

const replaced = Math.round(members * churn);
cio.segments.setMembers(1, [
  ...Array.from({ length: members - replaced }, (_, i) => person(i + replaced)),
  ...Array.from({ length: replaced }, (_, i) => person(members + i)),
]);
const [second, secondSeconds] = await timed(() => app.segments!.poll('cio_vip'));
const [, secondProcessSeconds] = await timed(() => app.settle());

const inAudience = (await app.store.audiences.members('cio_vip')).length;
const agrees = inAudience === members && second.entered === replaced && second.exited === replaced;
await app.stop();

// Raw baseline: point lookups on the identifiers table the poll resolves against, in the same store.
let rawSeconds: number;
if (pg) {
  const values = Array.from({ length: members }, (_, i) => `u${i + replaced}`);
  [, rawSeconds] = await timed(async () => {
    for (let i = 0; i < values.length; i += 1000)
      await pg.sql`SELECT profile_id FROM identifiers WHERE kind = 'userId' AND value = ANY(${values.slice(i, i + 1000)}::text[])`;
  });
  await pg.drop();
} else {
  const db = new Database(join(dir, 'h.db'), { readonly: true });
  const lookup = db.prepare('SELECT profile_id FROM identifiers WHERE kind = ? AND value = ?');
  [, rawSeconds] = await timed(() => {
    for (let i = 0; i < members; i++) lookup.get('userId', `u${i + replaced}`);
    return Promise.resolve();
  });
  db.close();
}
await cio.close();
rmSync(dir, { recursive: true, force: true });

const rows: [string, string, string][] = [
  [
    'API pass',
    `${fmt(passSeconds, 2)} s for ${fmt(members)} members: ${pass.value.pages} pages, ${passRequests} requests, peak ${cio.peakRequestsPerSecond()} req/s`,
    `allowed 10 req/s = ${fmt(10 * page)} members/s`,
  ],
  [
    'first poll (all new)',
    `${fmt(firstSeconds, 2)} s: ${fmt(first.entered)} enters logged = ${fmt(members / firstSeconds)} members/s`,
    '',
  ],
  ['processing the enters', `${fmt(processSeconds, 2)} s = ${fmt(members / processSeconds)} enters/s`, ''],
  [
    `churn poll (${fmt(churn * 100, 1)}%)`,
    `${fmt(secondSeconds, 2)} s: ${fmt(members)} resolved, ${second.entered} in / ${second.exited} out = ${fmt(members / secondSeconds)} members/s; processed in ${fmt(secondProcessSeconds, 2)} s`,
    `raw ${pg ? 'PK lookups, 1,000 a statement,' : 'PK lookups'} ${fmt(members / rawSeconds)} /s`,
  ],
  ['audience = segment', agrees ? `yes (${fmt(inAudience)} members)` : `NO: ${inAudience} members`, ''],
];
console.log(`store: ${store}\n\n| step | measured | baseline |\n|---|---|---|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(
  JSON.stringify({
    members,
    page,
    passSeconds,
    peakRequestsPerSecond: cio.peakRequestsPerSecond(),
    firstPollSeconds: firstSeconds,
    processSeconds,
    churnPollSeconds: secondSeconds,
    rawLookupsPerSecond: members / rawSeconds,
    agrees,
  }),
);
process.exitCode = agrees ? 0 : 1;
