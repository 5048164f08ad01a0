import type { Store } from '../ports.ts';
import type { PostgresOptions, Sql } from './database.ts';
import { openPostgres } from './database.ts';
import { postgresAudienceStore } from './audience-store.ts';
import { postgresBulkStore } from './bulk-store.ts';
import { postgresCommit, postgresCursors } from './commit.ts';
import { postgresEventLog } from './event-log.ts';
import { postgresIdentityStore } from './identity-store.ts';
import { postgresQuarantineStore } from './quarantine-store.ts';
import { postgresReadiness } from './readiness.ts';

/**
 * A port whose PostgreSQL queries are not written yet: every method rejects, naming itself.
 * Replaced port by port; none remains once the contract suite passes.
 */
const pending = <T extends object>(port: string): T =>
  new Proxy({} as T, {
    get: (_, method) => () =>
      Promise.reject(new Error(`postgres store: ${port}.${String(method)} is not implemented`)),
  });

/** The production store: Handoff's tables in one schema of a PostgreSQL database. */
export async function createPostgresStore(options: PostgresOptions): Promise<Store> {
  const sql = await openPostgres(options);
  return postgresStore(sql);
}

/** The Store port over an open pool (its schema already migrated). */
export function postgresStore(sql: Sql): Store {
  const commit = postgresCommit(sql);
  return {
    events: postgresEventLog(sql),
    cursors: postgresCursors(sql),
    identity: postgresIdentityStore(sql, commit),
    audiences: postgresAudienceStore(sql),
    sync: pending('sync'),
    bulk: postgresBulkStore(sql),
    sources: pending('sources'),
    monitor: pending('monitor'),
    requests: pending('requests'),
    alerts: pending('alerts'),
    admin: pending('admin'),
    quarantine: postgresQuarantineStore(sql),
    commit,
    readiness: postgresReadiness(sql),
    close: () => sql.end({ timeout: 5 }),
  };
}
