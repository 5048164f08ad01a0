import type { BatchCommit, Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { audienceWriter, sqliteAudienceStore } from './audience-store.ts';
import type { SqliteDatabase } from './database.ts';
import { openSqlite, settle, writeTransaction } from './database.ts';
import { sqliteEventLog } from './event-log.ts';
import { identityWriter, sqliteIdentityStore } from './identity-store.ts';
import { sqliteSyncStore } from './sync-store.ts';
import { sqliteBulkStore } from './bulk-store.ts';
import { sqliteDeadLetterActions } from './dead-letter-actions.ts';
import { sqliteSourceStore } from './source-store.ts';
import { sqliteMonitorStore } from './monitor-store.ts';
import { sqliteAdminMembers } from './admin-members.ts';
import { sqliteAdminQueries } from './admin-queries.ts';
import { sqliteReadiness } from './readiness.ts';
import { sqliteRequestLog } from './request-log.ts';
import { sqliteAlertState } from './alert-state.ts';
import { sqliteLeaseStore } from './leases.ts';
import { inProcessSignals } from '../../shared/signals.ts';
import { sqliteRateBudgets } from './rate-budgets.ts';
import { sqliteGeneratedSecrets } from './generated-secrets.ts';
import { quarantineWriter, sqliteQuarantineStore } from './quarantine-store.ts';

/**
 * The embedded store: one SQLite file (`:memory:` for a throwaway one). `db` is a handle already
 * opened on `path` with openSqlite, for a caller that sets connection pragmas of its own.
 */
export function createSqliteStore(path: string, db: SqliteDatabase = openSqlite(path)): Store {
  const cursor = db.prepare<[string], { position: number }>('SELECT position FROM cursors WHERE name = ?');
  const moveCursor = db.prepare(
    'INSERT INTO cursors (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
  );
  const applyIdentity = identityWriter(db);
  const applyAudiences = audienceWriter(db);
  const applyQuarantine = quarantineWriter(db);
  const commitBatch = writeTransaction(db, (batch: BatchCommit) => {
    const cursors = batch.guards ? [batch.cursor, ...batch.guards] : [batch.cursor];
    for (const c of cursors) {
      if (c === undefined) continue;
      const actual = cursor.get(c.name)?.position ?? 0;
      if (actual !== c.from) throw new CursorMovedError(c.name, c.from, actual);
    }
    applyQuarantine(batch.quarantine);
    applyIdentity(batch.identity);
    applyAudiences(batch.audiences);
    for (const c of cursors) if (c !== undefined && c.to !== c.from) moveCursor.run(c.name, c.to);
  });
  const commit = (batch: BatchCommit) => settle(() => commitBatch(batch));
  return {
    events: sqliteEventLog(db),
    cursors: { get: (name) => settle(() => cursor.get(name)?.position ?? 0) },
    identity: sqliteIdentityStore(db, commit),
    audiences: sqliteAudienceStore(db),
    sync: { ...sqliteSyncStore(db), ...sqliteDeadLetterActions(db) },
    bulk: sqliteBulkStore(db),
    sources: sqliteSourceStore(db),
    monitor: sqliteMonitorStore(db),
    requests: sqliteRequestLog(db),
    alerts: sqliteAlertState(db),
    admin: { ...sqliteAdminQueries(db), ...sqliteAdminMembers(db) },
    quarantine: sqliteQuarantineStore(db),
    leases: sqliteLeaseStore(db),
    // One serve process owns the file (the serve mark): its own loops are all there is to wake.
    signals: inProcessSignals(),
    rateBudgets: sqliteRateBudgets(db),
    secrets: sqliteGeneratedSecrets(db),
    commit,
    readiness: sqliteReadiness(db, path),
    close: () => settle(() => void db.close()),
  };
}
