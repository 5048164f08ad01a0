// The PostgreSQL side of the benchmarks: a fresh store in a schema of its own (dropped after),
// on HANDOFF_TEST_DATABASE_URL or the local server's `test` database, and the raw insert baseline.
import type { Store } from '../src/store/ports.ts';
import type { Sql } from '../src/store/postgres/database.ts';
import { openPostgres } from '../src/store/postgres/database.ts';
import { postgresStore } from '../src/store/postgres/index.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../src/store/postgres/testing.ts';

/** A fresh PostgreSQL store, with its pool for the benchmark's own queries. */
export interface BenchPostgres {
  store: Store;
  sql: Sql;
  schema: string;
  /** Closes the store and drops its schema. */
  drop(): Promise<void>;
}

export async function openBenchPostgres(poolSize = 10): Promise<BenchPostgres> {
  const url = testDatabaseUrl();
  const schema = freshSchemaName().replace('handoff_test_', 'handoff_bench_');
  const sql = await openPostgres({ url, schema, poolSize });
  const store = postgresStore(sql);
  return {
    // The app's stop leaves the pool open: the benchmark reads the stored rows after it.
    store: { ...store, close: async () => {} },
    sql,
    schema,
    drop: async () => {
      await store.close().catch(() => {});
      await dropSchema(schema, url);
    },
  };
}

/**
 * Flushes what earlier runs left dirty (a CHECKPOINT), so that their pages are not written and
 * synced during this run's measurement; a role not allowed to is told so and the run goes on.
 */
export async function checkpoint(sql: Sql): Promise<void> {
  try {
    await sql`CHECKPOINT`;
  } catch (error) {
    console.log(`(no CHECKPOINT before the run: ${error instanceof Error ? error.message : String(error)})`);
  }
}

export type EventRow = [
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
  number,
  number,
  string,
];

/** The stored events' columns in offset order, as the baseline inserts them. */
export async function eventRows(sql: Sql): Promise<EventRow[]> {
  const rows = await sql`
    SELECT source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body
      FROM events ORDER BY seq`.values();
  return rows as unknown as EventRow[];
}

/**
 * The raw rate the event log cannot beat: the same rows into the same (empty, freshly migrated)
 * table, `batch` rows per multi-row `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING` statement,
 * one statement at a time, each its own commit. Returns seconds taken and rows stored.
 */
export async function postgresBaseline(
  rows: readonly EventRow[],
  batch: number,
): Promise<{ seconds: number; stored: number }> {
  const target = await openBenchPostgres(1);
  try {
    const { sql } = target;
    const chunks: string[][][] = [];
    for (let i = 0; i < rows.length; i += batch) {
      const chunk = rows.slice(i, i + batch);
      chunks.push(
        Array.from({ length: 9 }, (_, c) =>
          chunk.map((r) => (r[c] === null ? null : String(r[c]))),
        ) as string[][],
      );
    }
    const started = performance.now();
    for (const c of chunks) {
      await sql`
        INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
        SELECT * FROM unnest(${c[0]!}::text[], ${c[1]!}::text[], ${c[2]!}::text[], ${c[3]!}::text[],
                             ${c[4]!}::text[], ${c[5]!}::text[], ${c[6]!}::bigint[], ${c[7]!}::bigint[],
                             ${c[8]!}::text[])
        ON CONFLICT (source_id, message_id) DO NOTHING`;
    }
    const seconds = (performance.now() - started) / 1000;
    const [count] = await sql<{ n: number }[]>`SELECT count(*)::bigint AS n FROM events`;
    return { seconds, stored: count?.n ?? 0 };
  } finally {
    await target.drop();
  }
}
