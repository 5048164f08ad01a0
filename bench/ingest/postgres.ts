// `bench:ingest -- --store postgres`: the stored rows checked, then the raw PostgreSQL baseline.
import { fmt } from '../lib.ts';
import type { BenchPostgres } from '../postgres.ts';
import { eventRows, postgresBaseline } from '../postgres.ts';

const TARGET_EVENTS_PER_SEC = 20_000;
const TARGET_RATIO = 0.5;

/** Prints the PostgreSQL figures and drops the schema; returns the exit status (1 on a failure). */
export async function reportPostgres(run: {
  pg: BenchPostgres;
  n: number;
  rate: number;
  batch: number;
  p99: number;
  failures: string[];
}): Promise<number> {
  const { pg, n, rate, batch } = run;
  const problems = run.failures.slice(0, 5);
  let rows;
  try {
    rows = await eventRows(pg.sql);
  } finally {
    await pg.drop();
  }
  if (rows.length !== n) problems.push(`stored ${fmt(rows.length)} rows, expected ${fmt(n)}`);
  global.gc?.();
  const raw = await postgresBaseline(rows, batch);
  if (raw.stored !== rows.length)
    problems.push(`baseline stored ${fmt(raw.stored)} rows of ${fmt(rows.length)}`);
  const rawRate = rows.length / raw.seconds;
  const ratio = rate / rawRate;
  console.log(
    `raw PostgreSQL: ${fmt(rawRate)} rows/s (${fmt(rows.length)} rows in ${fmt(raw.seconds, 2)} s, ${batch} per INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING); ingest/raw ${fmt(ratio, 2)}`,
  );
  const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');
  console.log(
    [
      '',
      `| PostgreSQL, ${fmt(n)} events, ${batch}-event /v1/batch, loopback | |`,
      '|---|---|',
      `| ingest (acknowledged) | ${fmt(rate)} events/s (p99 ${fmt(run.p99, 1)} ms) |`,
      `| raw multi-row INSERT … unnest … ON CONFLICT DO NOTHING, ${batch} rows a statement | ${fmt(rawRate)} rows/s |`,
      `| ingest / raw | ${fmt(ratio, 2)} |`,
      `| target ≥ ${fmt(TARGET_EVENTS_PER_SEC)} events/s; ≥ ${TARGET_RATIO} of raw | ${verdict(rate >= TARGET_EVENTS_PER_SEC)}; ${verdict(ratio >= TARGET_RATIO)} |`,
      '',
    ].join('\n'),
  );
  console.log(
    JSON.stringify({
      store: 'postgres',
      events: n,
      batch,
      eventsPerSec: Math.round(rate),
      rawRowsPerSec: Math.round(rawRate),
      ratio: Number(ratio.toFixed(3)),
      ok: problems.length === 0,
    }),
  );
  if (problems.length === 0) return 0;
  console.error(`FAILED:\n  ${problems.join('\n  ')}`);
  return 1;
}
