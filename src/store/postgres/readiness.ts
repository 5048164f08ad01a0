import type { Readiness } from '../failures.ts';
import { storeUnavailableReason } from '../failures.ts';
import type { Sql } from './database.ts';
import { PG_MIGRATIONS } from './migrations.ts';

/** Rolls the readiness probe's write back. */
class ProbeDone extends Error {}

/**
 * Probes whether the database takes writes: the server answers, is neither a standby in recovery
 * nor read-only, and a row can be written (in a transaction rolled back at once). It never waits
 * for a lock held by another writer.
 */
export function postgresReadiness(sql: Sql): () => Promise<Readiness> {
  return async () => {
    try {
      const [row] = await sql<{ recovery: boolean; read_only: string }[]>`
        SELECT pg_is_in_recovery() AS recovery, current_setting('default_transaction_read_only') AS read_only`;
      if (row?.recovery)
        return { ok: false, reason: 'the database server is a standby in recovery (read-only)' };
      if (row?.read_only === 'on') return { ok: false, reason: 'the database is read-only' };
      // Another process may be migrating the schema (or newer code did): not ready until they match.
      const [schema] = await sql<{ version: number }[]>`SELECT version FROM schema_version`;
      if (schema?.version !== PG_MIGRATIONS.length)
        return {
          ok: false,
          reason: `the schema is at migration ${schema?.version ?? 0}, this Handoff expects ${PG_MIGRATIONS.length}: migrations are not done`,
        };
      await sql
        .begin(async (tx) => {
          await tx`SET LOCAL lock_timeout = '1s'`;
          await tx`INSERT INTO cursors (name, position) VALUES ('handoff.readiness', 0) ON CONFLICT DO NOTHING`;
          throw new ProbeDone();
        })
        .catch((error: unknown) => {
          if (!(error instanceof ProbeDone)) throw error;
        });
      return { ok: true };
    } catch (error) {
      return {
        ok: false,
        reason: storeUnavailableReason(error) ?? `the database cannot be used: ${(error as Error).message}`,
      };
    }
  };
}
