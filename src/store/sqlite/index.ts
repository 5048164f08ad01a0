import type { Store } from '../ports.ts';
import { openSqlite, settle } from './database.ts';
import { sqliteEventLog } from './event-log.ts';
import { sqliteIdentityStore } from './identity-store.ts';

/** The embedded store: one SQLite file (`:memory:` for a throwaway one). */
export function createSqliteStore(path: string): Store {
  const db = openSqlite(path);
  const cursor = db.prepare<[string], { position: number }>('SELECT position FROM cursors WHERE name = ?');
  return {
    events: sqliteEventLog(db),
    cursors: { get: (name) => settle(() => cursor.get(name)?.position ?? 0) },
    identity: sqliteIdentityStore(db),
    close: () => settle(() => void db.close()),
  };
}
