/**
 * `npm run bench:log-writers [-- --writers W --clients C --batches B --size S]`
 *
 * What the PostgreSQL event log's append lock costs when several processes ingest at once:
 *
 * 1. W stores on one fresh schema, each with its own pool, as W `serve` processes have; each is
 *    fed by C concurrent callers appending B batches of S rows in all (`events.appendColumns`,
 *    group commit and the append lock included). Prints rows/s.
 * 2. Baseline, same run: the same rows into a second fresh schema by W pools with C concurrent
 *    callers each, the store's multi-row `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING`
 *    without the lock, so inserts of different pools run at once: the rate the lock gives up.
 *
 * Every row must be stored in both. Exit status 1 when not. Schemas are dropped.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import type { EventColumns } from '../src/ingest/event.ts';
import { openPostgres } from '../src/store/postgres/database.ts';
import type { Sql } from '../src/store/postgres/database.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../src/store/postgres/testing.ts';
import { fmt } from './lib.ts';

const { values } = parseArgs({
  options: {
    writers: { type: 'string', default: '2' },
    clients: { type: 'string', default: '4' },
    batches: { type: 'string', default: '200' },
    size: { type: 'string', default: '500' },
  },
});
const W = Number(values.writers);
const C = Number(values.clients);
const B = Number(values.batches);
const S = Number(values.size);
const BODY = JSON.stringify({ type: 'track', event: 'Product Viewed', properties: { sku: 'x'.repeat(800) } });

/** Batch `b` of the run: S rows, message ids unique across the run. */
const batchRows = (b: number): EventColumns[] =>
  Array.from({ length: S }, (_, i): EventColumns => [
    'web',
    `m${b}-${i}`,
    'track',
    `u${i}`,
    null,
    'Product Viewed',
    b,
    b,
    BODY,
  ]);

/** Runs B batches over W × C callers, `append(w, rows)` for each; seconds taken. */
async function drive(append: (w: number, rows: EventColumns[]) => Promise<unknown>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: W * C }, async (_, k) => {
      for (let b = next++; b < B; b = next++) await append(k % W, batchRows(b));
    }),
  );
  return (performance.now() - started) / 1000;
}

/** W pools on a fresh schema; `fn` runs with them, then they close and the schema goes. */
async function withPools<T>(fn: (pools: Sql[]) => Promise<T>): Promise<T> {
  const url = testDatabaseUrl();
  const schema = freshSchemaName().replace('handoff_test_', 'handoff_bench_');
  const pools: Sql[] = [];
  try {
    for (let w = 0; w < W; w++) pools.push(await openPostgres({ url, schema, poolSize: C }));
    return await fn(pools);
  } finally {
    for (const sql of pools) await sql.end({ timeout: 5 });
    await dropSchema(schema, url);
  }
}

const count = async (sql: Sql): Promise<number> =>
  (await sql<{ n: number }[]>`SELECT count(*)::bigint AS n FROM events`)[0]?.n ?? 0;

console.log(
  `event log writers: ${W} stores × ${C} callers, ${fmt(B)} batches of ${S} rows; load average ${loadavg()[0]!.toFixed(1)}`,
);
const log = await withPools(async (pools) => {
  const logs = pools.map((sql) => postgresStore(sql).events);
  const seconds = await drive((w, rows) => logs[w]!.appendColumns!(rows));
  return { seconds, stored: await count(pools[0]!) };
});
const raw = await withPools(async (pools) => {
  const seconds = await drive((w, rows) => {
    const c = Array.from({ length: 9 }, (_, i) => rows.map((r) => (r[i] === null ? null : String(r[i]))));
    return pools[w]!`
      INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
      SELECT * FROM unnest(${c[0]!}::text[], ${c[1]!}::text[], ${c[2]!}::text[], ${c[3]!}::text[],
                           ${c[4]!}::text[], ${c[5]!}::text[], ${c[6]!}::bigint[], ${c[7]!}::bigint[],
                           ${c[8]!}::text[])
      ON CONFLICT (source_id, message_id) DO NOTHING`;
  });
  return { seconds, stored: await count(pools[0]!) };
});
const total = B * S;
const logRate = total / log.seconds;
const rawRate = total / raw.seconds;
console.log(`event log (append lock, group commit): ${fmt(logRate)} rows/s (${fmt(log.seconds, 2)} s)`);
console.log(
  `raw inserts of the ${W} pools at once, no lock: ${fmt(rawRate)} rows/s (${fmt(raw.seconds, 2)} s)`,
);
console.log(`log / raw ${fmt(logRate / rawRate, 2)}`);
const ok = log.stored === total && raw.stored === total;
console.log(
  JSON.stringify({
    writers: W,
    clients: C,
    rows: total,
    logRowsPerSec: Math.round(logRate),
    rawRowsPerSec: Math.round(rawRate),
    ratio: Number((logRate / rawRate).toFixed(3)),
    ok,
  }),
);
if (!ok) {
  console.error(`FAILED: stored ${log.stored} (log) and ${raw.stored} (raw) of ${total}`);
  process.exitCode = 1;
}
