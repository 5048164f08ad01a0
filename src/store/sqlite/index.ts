import type { BatchCommit, Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { audienceWriter, sqliteAudienceStore } from './audience-store.ts';
import type { SqliteDatabase } from './database.ts';
import { openSqlite, settle } from './database.ts';
import { sqliteEventLog } from './event-log.ts';
import { identityWriter, sqliteIdentityStore } from './identity-store.ts';
import { sqliteSyncStore } from './sync-store.ts';
import { sqliteDeadLetterActions } from './dead-letter-actions.ts';
import { sqliteSourceStore } from './source-store.ts';
import { sqliteMonitorStore } from './monitor-store.ts';
import { sqliteAdminMembers } from './admin-members.ts';
import { sqliteAdminQueries } from './admin-queries.ts';
import { sqliteReadiness } from './readiness.ts';

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
  const commitBatch = db.transaction((batch: BatchCommit) => {
    if (batch.cursor) {
      const actual = cursor.get(batch.cursor.name)?.position ?? 0;
      if (actual !== batch.cursor.from)
        throw new CursorMovedError(batch.cursor.name, batch.cursor.from, actual);
    }
    applyIdentity(batch.identity);
    applyAudiences(batch.audiences);
    if (batch.cursor) moveCursor.run(batch.cursor.name, batch.cursor.to);
  });
  const commit = (batch: BatchCommit) => settle(() => commitBatch(batch));
  return {
    events: sqliteEventLog(db),
    cursors: { get: (name) => settle(() => cursor.get(name)?.position ?? 0) },
    identity: sqliteIdentityStore(db, commit),
    audiences: sqliteAudienceStore(db),
    sync: { ...sqliteSyncStore(db), ...sqliteDeadLetterActions(db) },
    sources: sqliteSourceStore(db),
    monitor: sqliteMonitorStore(db),
    admin: { ...sqliteAdminQueries(db), ...sqliteAdminMembers(db) },
    commit,
    readiness: sqliteReadiness(db, path),
    close: () => settle(() => void db.close()),
  };
}
