import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { makePrivateDir, makePrivateFile, tightenIfOwned } from '../../shared/private-files.ts';
import { MIGRATIONS } from './migrations.ts';

/** The slice of better-sqlite3 the adapter uses. */
export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the embedded database in WAL mode and brings its schema up to date.
 * The directory is created 0700 and the files 0600; files this user owns are tightened to that.
 * `synchronous = FULL` makes every acknowledged commit survive a power cut, not only a crash.
 */
export function openSqlite(path: string): SqliteDatabase {
  if (path !== ':memory:') {
    makePrivateDir(dirname(path));
    // SQLite creates the -wal and -shm files with the database file's mode.
    makePrivateFile(path);
    for (const suffix of ['-wal', '-shm']) tightenIfOwned(path + suffix);
  }
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Checkpoint in larger, rarer steps: each small checkpoint rewrites the same hot index pages.
  // (100,000 pages measured no faster replay and made the commit that checkpoints stall longer.)
  db.pragma('wal_autocheckpoint = 10000');
  // 64 MiB of page cache: dedupe lookups and merges read event_ids pages at random.
  db.pragma('cache_size = -65536');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/**
 * Runs the driver's synchronous work as a promise, so a failure (a constraint, a full disk)
 * reaches callers of the async port as a rejection, never as a synchronous throw.
 */
export const settle = <T>(work: () => T): Promise<T> => new Promise((resolve) => resolve(work()));

function migrate(db: SqliteDatabase): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the database at schema version ${current} is newer than this Handoff (${MIGRATIONS.length}); upgrade Handoff`,
    );
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
