import type { BatchCommit, Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { audienceWriter, sqliteAudienceStore } from './audience-store.ts';
import { openSqlite, settle } from './database.ts';
import { sqliteEventLog } from './event-log.ts';
import { identityWriter, sqliteIdentityStore } from './identity-store.ts';
import { sqliteSyncStore } from './sync-store.ts';
import { sqliteSourceStore } from './source-store.ts';
import { sqliteMonitorStore } from './monitor-store.ts';
import { sqliteAdminQueries } from './admin-queries.ts';
import { quarantineWriter, sqliteQuarantineStore } from './quarantine-store.ts';

/** The embedded store: one SQLite file (`:memory:` for a throwaway one). */
export function createSqliteStore(path: string): Store {
  const db = openSqlite(path);
  const cursor = db.prepare<[string], { position: number }>('SELECT position FROM cursors WHERE name = ?');
  const moveCursor = db.prepare(
    'INSERT INTO cursors (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
  );
  const applyIdentity = identityWriter(db);
  const applyAudiences = audienceWriter(db);
  const applyQuarantine = quarantineWriter(db);
  const commitBatch = db.transaction((batch: BatchCommit) => {
    if (batch.cursor) {
      const actual = cursor.get(batch.cursor.name)?.position ?? 0;
      if (actual !== batch.cursor.from)
        throw new CursorMovedError(batch.cursor.name, batch.cursor.from, actual);
    }
    applyIdentity(batch.identity);
    applyAudiences(batch.audiences);
    applyQuarantine(batch.quarantine);
    if (batch.cursor) moveCursor.run(batch.cursor.name, batch.cursor.to);
  });
  const commit = (batch: BatchCommit) => settle(() => commitBatch(batch));
  return {
    events: sqliteEventLog(db),
    cursors: { get: (name) => settle(() => cursor.get(name)?.position ?? 0) },
    identity: sqliteIdentityStore(db, commit),
    audiences: sqliteAudienceStore(db),
    sync: sqliteSyncStore(db),
    sources: sqliteSourceStore(db),
    monitor: sqliteMonitorStore(db),
    admin: sqliteAdminQueries(db),
    quarantine: sqliteQuarantineStore(db),
    commit,
    close: () => settle(() => void db.close()),
  };
}
