import type { Store } from '../ports.ts';
import type { PostgresOptions, Sql } from './database.ts';
import { openPostgres } from './database.ts';
import { postgresAudienceStore } from './audience-store.ts';
import { postgresBulkStore } from './bulk-store.ts';
import { postgresCommit, postgresCursors } from './commit.ts';
import { postgresEventLog } from './event-log.ts';
import { postgresIdentityStore } from './identity-store.ts';
import { postgresProfileViews } from './profile-views.ts';
import { postgresQuarantineStore } from './quarantine-store.ts';
import { postgresReadiness } from './readiness.ts';
import { postgresSyncWrites } from './sync-store.ts';
import { postgresSyncReads } from './sync-reads.ts';
import { postgresDeadLetterActions } from './dead-letter-actions.ts';
import { postgresSourceStore } from './source-store.ts';
import { postgresMonitorStore } from './monitor-store.ts';
import { postgresRequestLog } from './request-log.ts';
import { postgresAlertState } from './alert-state.ts';
import { postgresAdminQueries } from './admin-queries.ts';
import { postgresAdminMembers } from './admin-members.ts';
import { postgresLeaseStore } from './leases.ts';
import { postgresSignals } from './signals.ts';
import { postgresRateBudgets } from './rate-budgets.ts';
import { postgresGeneratedSecrets } from './generated-secrets.ts';

/** The production store: Handoff's tables in one schema of a PostgreSQL database. */
export async function createPostgresStore(options: PostgresOptions): Promise<Store> {
  const sql = await openPostgres(options);
  return postgresStore(sql);
}

/** The Store port over an open pool (its schema already migrated). */
export function postgresStore(sql: Sql): Store {
  const signals = postgresSignals(sql, { schema: schemaOf(sql) });
  const commit = postgresCommit(sql, signals.announcement);
  return {
    events: postgresEventLog(sql, signals.announcement),
    cursors: postgresCursors(sql),
    identity: { ...postgresIdentityStore(sql, commit), ...postgresProfileViews(sql) },
    audiences: postgresAudienceStore(sql),
    sync: { ...postgresSyncWrites(sql), ...postgresSyncReads(sql), ...postgresDeadLetterActions(sql) },
    bulk: postgresBulkStore(sql),
    sources: postgresSourceStore(sql),
    monitor: postgresMonitorStore(sql),
    requests: postgresRequestLog(sql),
    alerts: postgresAlertState(sql),
    admin: { ...postgresAdminQueries(sql), ...postgresAdminMembers(sql) },
    quarantine: postgresQuarantineStore(sql),
    leases: postgresLeaseStore(sql),
    signals,
    rateBudgets: postgresRateBudgets(sql),
    secrets: postgresGeneratedSecrets(sql),
    commit,
    readiness: postgresReadiness(sql),
    close: async () => {
      await signals.close();
      await sql.end({ timeout: 5 });
    },
  };
}

/** The schema the pool's statements run in (openPostgres sets it as the search path). */
function schemaOf(sql: Sql): string {
  const path = (sql.options.connection as Record<string, unknown>)['search_path'];
  return typeof path === 'string' ? path : 'public';
}
