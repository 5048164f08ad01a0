/**
 * What a warehouse tool does on every sync: recompute each reference audience's current membership
 * from scratch with SQL over the raw event log. Used by bench/engine.ts (same run, same `now`), and
 * runnable alone against a database the engine has drained:
 *
 *   node --import tsx bench/sql-baseline.ts <handoff.db> [--now <epoch ms>]
 *
 * One self-contained query per audience of examples/handoff.yaml, over `events` (properties read
 * with json_extract on `body`), `event_profiles` (a flat copy of the `profile_events` view, made
 * before the clock starts: which surviving profile each event belongs to; merges move rows to the
 * survivor) and `traits` (for `unsubscribed`). Written to follow the
 * engine's semantics exactly (src/audiences/*):
 *
 * - An event's name is its `name` column (the track event or the page name), as the engine reads it.
 * - Windows are half-open on age = now − ts: `within W` is ts > now − W; `between [A, B]` is
 *   now − B < ts ≤ now − A; `olderThan A` is ts ≤ now − A.
 * - `last` looks at the latest matching event only; `since_last B since A` is latest B ≥ latest A.
 * - Aggregates read numeric properties only (json_type integer/real; the engine also accepts numeric
 *   strings, which the generator never sends); avg of no events does not exist (never ≥ 75).
 * - top_percent: a profile's score is its lifetime sum of revenue (no matching events, no score);
 *   with n scored profiles the threshold is the ceil(n·p/100)-th highest score, and members score
 *   at or above it (src/store/sqlite/audience-store.ts `threshold`).
 * - Property filters are strict (`eq` on a string matches a JSON string only).
 * - No holdout: held-out members are in the engine's `memberships` too, flagged.
 *
 * The schema is used as the store leaves it (no extra indexes): a warehouse has the log, not the
 * engine's state.
 */
import Database from 'better-sqlite3';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface AudienceQuery {
  key: string;
  sql: string;
}

/** Events with the surviving profile they belong to, restricted to some event names. */
const events = (...names: string[]): string =>
  `SELECT p.profile_id AS pid, e.name AS name, e.ts AS ts, e.body AS body
     FROM event_profiles p CROSS JOIN events e ON e.seq = p.seq
    WHERE e.name IN (${names.map((n) => `'${n}'`).join(', ')})`;

/** A numeric property of the event's `properties`, or NULL (strings, booleans, missing). */
const num = (property: string): string =>
  `CASE WHEN json_type(body, '$.properties.${property}') IN ('integer', 'real') THEN json_extract(body, '$.properties.${property}') END`;
/** A property equal (strictly) to a string. */
const strEq = (property: string, value: string): string =>
  `(json_type(body, '$.properties.${property}') = 'text' AND json_extract(body, '$.properties.${property}') = '${value}')`;
const latest = (name: string): string => `max(CASE WHEN name = '${name}' THEN ts END)`;
/** since_last B since A, as the engine decides it: the latest B at or after the latest A. */
const converted = (b: string, a: string): string => `ifnull(${latest(b)} >= ${latest(a)}, 0)`;
const avgRevenueAtLeast75 = `avg(CASE WHEN name = 'Order Completed' THEN ${num('revenue')} END) >= 75`;

const VIP = `
  WITH scores AS (
    SELECT pid, sum(r) AS score FROM (
      SELECT pid, ${num('revenue')} AS r FROM (${events('Order Completed')})
    ) WHERE r IS NOT NULL GROUP BY pid
  ),
  ranked AS MATERIALIZED (
    SELECT pid, score, row_number() OVER (ORDER BY score DESC) AS rn, count(*) OVER () AS n FROM scores
  )
  SELECT pid FROM ranked
   WHERE score >= (SELECT score FROM ranked WHERE rn = max(1, (n * 10 + 99) / 100))`;
const WINBACK = `
  SELECT pid FROM (${events('Order Completed')}) GROUP BY pid
  HAVING max(ts) <= @now - ${60 * DAY} AND max(ts) > @now - ${120 * DAY}`;
const REFUNDERS = `SELECT DISTINCT pid FROM (${events('Order Refunded')}) WHERE ts > @now - ${90 * DAY}`;
const UNSUBSCRIBED = `
  SELECT t.profile_id AS pid FROM traits t JOIN profiles pr ON pr.id = t.profile_id
   WHERE pr.merged_into IS NULL AND t.name = 'unsubscribed' AND t.value = 'true'`;

/** The 13 reference audiences of examples/handoff.yaml; each query selects `pid`, bound to @now. */
export const AUDIENCE_QUERIES: readonly AudienceQuery[] = [
  {
    // all: [event Product Added within 4h, not since_last Order Completed since Product Added]
    key: 'cart_0_4h',
    sql: `SELECT pid FROM (${events('Product Added', 'Order Completed')}) GROUP BY pid
          HAVING ${latest('Product Added')} > @now - ${4 * HOUR}
             AND NOT ${converted('Order Completed', 'Product Added')}`,
  },
  {
    // all: [last Product Added between [4h, 24h], not since_last Order Completed since Product Added]
    key: 'cart_4_24h',
    sql: `SELECT pid FROM (${events('Product Added', 'Order Completed')}) GROUP BY pid
          HAVING ${latest('Product Added')} <= @now - ${4 * HOUR}
             AND ${latest('Product Added')} > @now - ${24 * HOUR}
             AND NOT ${converted('Order Completed', 'Product Added')}`,
  },
  {
    key: 'checkout_no_purchase_24h',
    sql: `SELECT pid FROM (${events('Checkout Started', 'Order Completed')}) GROUP BY pid
          HAVING ${latest('Checkout Started')} > @now - ${24 * HOUR}
             AND NOT ${converted('Order Completed', 'Checkout Started')}`,
  },
  {
    key: 'purchased_7d',
    sql: `SELECT DISTINCT pid FROM (${events('Order Completed')}) WHERE ts > @now - ${7 * DAY}`,
  },
  { key: 'winback_60_120d', sql: WINBACK },
  {
    key: 'replenish_2x_45d',
    sql: `SELECT pid FROM (${events('Order Completed')}) GROUP BY pid
          HAVING count(*) >= 2 AND max(ts) <= @now - ${45 * DAY}`,
  },
  { key: 'vip_top_10pct', sql: VIP },
  {
    key: 'high_aov_new_collection',
    sql: `SELECT pid FROM (${events('Order Completed', 'Product Viewed')}) GROUP BY pid
          HAVING ${avgRevenueAtLeast75}
             AND count(CASE WHEN name = 'Product Viewed' AND ts > @now - ${7 * DAY}
                             AND ${strEq('collection', 'new')} THEN 1 END) >= 1`,
  },
  {
    key: 'skincare_layered',
    sql: `SELECT pid FROM (${events('Order Completed', 'Product Viewed', 'Product Added')}) GROUP BY pid
          HAVING count(CASE WHEN name = 'Product Viewed' AND ts > @now - ${30 * DAY}
                             AND ${strEq('category', 'Skincare')} THEN 1 END) >= 2
             AND ${latest('Product Added')} > @now - ${7 * DAY}
             AND ${avgRevenueAtLeast75}`,
  },
  {
    key: 'bundle_viewed_2x_no_purchase_24h',
    sql: `SELECT pid FROM (${events('Product Viewed', 'Order Completed')}) GROUP BY pid
          HAVING count(CASE WHEN name = 'Product Viewed' AND ts > @now - ${7 * DAY}
                             AND ${strEq('product_id', 'bundle-01')} THEN 1 END) >= 2
             AND count(CASE WHEN name = 'Order Completed' AND ts > @now - ${DAY} THEN 1 END) = 0`,
  },
  { key: 'refunders_90d', sql: REFUNDERS },
  { key: 'unsubscribed', sql: UNSUBSCRIBED },
  {
    key: 'winback_discount_eligible',
    sql: `SELECT pid FROM (${WINBACK})
           WHERE pid NOT IN (${VIP})
             AND pid NOT IN (${REFUNDERS})
             AND pid NOT IN (${UNSUBSCRIBED})`,
  },
];

export interface AudienceResult {
  key: string;
  seconds: number;
  members: Set<string>;
}

/** Runs every query at `now`; each one timed on its own, in order. */
export function recomputeAll(db: Database.Database, now: number): AudienceResult[] {
  // A warehouse keeps a flat event → profile table; Handoff keeps each profile's offsets in one
  // row per batch. Flattened once, untimed, so the recompute is not charged for our layout.
  db.exec('CREATE TEMP TABLE IF NOT EXISTS event_profiles AS SELECT profile_id, seq FROM profile_events');
  return AUDIENCE_QUERIES.map(({ key, sql }) => {
    const statement = db.prepare<{ now: number }, { pid: string }>(sql);
    const started = performance.now();
    const rows = statement.all({ now });
    const seconds = (performance.now() - started) / 1000;
    return { key, seconds, members: new Set(rows.map((r) => r.pid)) };
  });
}

/** The engine's current members per audience, from its `memberships` table (held-out included). */
export function engineMembers(db: Database.Database): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const rows = db
    .prepare<[], { audience: string; profile_id: string }>('SELECT audience, profile_id FROM memberships')
    .all();
  for (const r of rows) {
    let set = out.get(r.audience);
    if (!set) out.set(r.audience, (set = new Set()));
    set.add(r.profile_id);
  }
  return out;
}

export interface Comparison {
  key: string;
  seconds: number;
  sql: number;
  engine: number;
  onlySql: string[];
  onlyEngine: string[];
}

export function compare(
  sql: readonly AudienceResult[],
  engine: ReadonlyMap<string, Set<string>>,
): Comparison[] {
  return sql.map(({ key, seconds, members }) => {
    const mine = engine.get(key) ?? new Set<string>();
    return {
      key,
      seconds,
      sql: members.size,
      engine: mine.size,
      onlySql: [...members].filter((p) => !mine.has(p)),
      onlyEngine: [...mine].filter((p) => !members.has(p)),
    };
  });
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * Prints the per-audience table; returns the total query time in seconds. With `before` (the
 * engine's members at an earlier point, e.g. right after a drain and before a ranking refresh),
 * shows both.
 */
export function printComparison(rows: readonly Comparison[], before?: readonly Comparison[]): number {
  const total = rows.reduce((s, r) => s + r.seconds, 0);
  const width = Math.max(...rows.map((r) => r.key.length));
  const verdict = (r: Comparison): string =>
    r.onlySql.length === 0 && r.onlyEngine.length === 0
      ? 'yes'
      : `NO: ${fmt(r.onlyEngine.length)} only in engine, ${fmt(r.onlySql.length)} only in SQL (e.g. ${[...r.onlyEngine.slice(0, 1), ...r.onlySql.slice(0, 1)].join(', ')})`;
  const header = before
    ? `${'SQL'.padStart(8)}  ${'drained'.padStart(8)}  ${'+refresh'.padStart(8)}  agree after drain / after refresh`
    : `${'SQL'.padStart(8)}  ${'engine'.padStart(8)}  agree`;
  console.log(`${'audience'.padEnd(width)}  ${'SQL s'.padStart(7)}  ${header}`);
  for (const [i, r] of rows.entries()) {
    const b = before?.[i];
    const counts = b
      ? `${fmt(r.sql).padStart(8)}  ${fmt(b.engine).padStart(8)}  ${fmt(r.engine).padStart(8)}  ${verdict(b)} / ${verdict(r)}`
      : `${fmt(r.sql).padStart(8)}  ${fmt(r.engine).padStart(8)}  ${verdict(r)}`;
    console.log(`${r.key.padEnd(width)}  ${fmt(r.seconds, 3).padStart(7)}  ${counts}`);
  }
  console.log(`${'all 13'.padEnd(width)}  ${fmt(total, 3).padStart(7)}`);
  return total;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { now: { type: 'string' } },
  });
  const file = positionals[0];
  if (!file) {
    console.log('usage: node --import tsx bench/sql-baseline.ts <handoff.db> [--now <epoch ms>]');
    process.exit(2);
  }
  const db = new Database(file, { readonly: true });
  const now = values.now
    ? Number(values.now)
    : (db.prepare('SELECT max(ts) AS t FROM events').get() as { t: number }).t + 60_000;
  console.log(`SQL recompute at now = ${new Date(now).toISOString()} over ${file}`);
  printComparison(compare(recomputeAll(db, now), engineMembers(db)));
  db.close();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
