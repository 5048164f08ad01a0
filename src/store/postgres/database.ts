import postgres from 'postgres';
import { PG_MIGRATIONS } from './migrations.ts';

/** A pool of connections to the store's database, every statement running in its schema. */
export type Sql = postgres.Sql;

/** A transaction of that pool, or a connection reserved for one: the writes of one commit. */
export type Tx = postgres.ISql;

/**
 * Statements of one transaction sent one after another without waiting for each answer: the
 * server runs them in order, and the batch costs one round trip instead of one per statement.
 * A statement after a failed one fails too (the transaction is aborted); `settled` reports all.
 * A check that must undo the transaction when it fails runs on the server, as a statement that
 * calls `handoff_fail(message)` (SQLSTATE HF001, `isFailedCheck`) for each failure: every
 * statement after it then fails, and the transaction's COMMIT can go in the same round trip.
 */
export class Pipeline {
  private readonly sent: Promise<unknown>[] = [];
  constructor(readonly tx: Tx) {}

  /** Sends a statement whose answer is not needed. */
  send(query: postgres.PendingQuery<postgres.Row[]>): void {
    void this.answer(query);
  }

  /** Sends a statement; its rows once it has run. */
  answer<T extends readonly postgres.MaybeRow[]>(query: postgres.PendingQuery<T>): Promise<T> {
    void query.execute();
    const answer = Promise.resolve(query) as Promise<T>;
    // Failures are reported by `settled`; this one must not also be an unhandled rejection.
    answer.catch(() => {});
    this.sent.push(answer);
    return answer;
  }

  /** Waits for every statement sent; throws the first failure. */
  async settled(): Promise<void> {
    const results = await Promise.allSettled(this.sent);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/** Whether `error` is a check that failed through `handoff_fail` (see Pipeline). */
export const isFailedCheck = (error: unknown): boolean =>
  error instanceof postgres.PostgresError && error.code === 'HF001';

/** Where the PostgreSQL store lives: `storage.postgres` in handoff.yaml. */
export interface PostgresOptions {
  /** postgres://user:pass@host:5432/db?sslmode=require */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** The schema holding Handoff's tables, created when missing (default `handoff`). */
  schema?: string;
}

export const DEFAULT_SCHEMA = 'handoff';
export const DEFAULT_POOL_SIZE = 10;

/** A schema name Handoff will create and use: lower-case letters, digits and `_`. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Connects a pool to the database and brings Handoff's schema up to date. Times and offsets are
 * bigint columns holding epoch milliseconds and counters, all well inside 2^53: they are read as
 * numbers. Nothing is written outside the configured schema.
 */
export async function openPostgres(options: PostgresOptions): Promise<Sql> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema))
    throw new Error(`storage.postgres.schema "${schema}" is not a plain schema name`);
  const sql = postgres(options.url, {
    max: options.poolSize ?? DEFAULT_POOL_SIZE,
    connection: { search_path: schema, application_name: 'handoff' },
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (n: number) => String(n),
        parse: (text: string) => Number(text),
      },
    },
    onnotice: () => {},
    connect_timeout: 10,
  });
  try {
    await migrate(sql, schema);
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  return sql;
}

/**
 * Applies the migrations not yet applied, in one transaction under an advisory lock keyed by the
 * schema: two processes starting at once apply each step once, the second waiting for the first.
 */
async function migrate(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext(${`handoff.migrate.${schema}`}))`;
    await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await tx.unsafe('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const [row] = await tx<{ version: number }[]>`SELECT version FROM schema_version`;
    const current = row?.version ?? 0;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(
        `the database at schema version ${current} is newer than this Handoff (${PG_MIGRATIONS.length}); upgrade Handoff`,
      );
    }
    for (let version = current; version < PG_MIGRATIONS.length; version++)
      await tx.unsafe(PG_MIGRATIONS[version]!);
    if (row === undefined) await tx`INSERT INTO schema_version (version) VALUES (${PG_MIGRATIONS.length})`;
    else if (current < PG_MIGRATIONS.length)
      await tx`UPDATE schema_version SET version = ${PG_MIGRATIONS.length}`;
  });
}
