import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { makePrivateDir, makePrivateFile, tightenIfOwned } from '../../shared/private-files.ts';
import { MIGRATIONS } from './migrations.ts';

/** The slice of better-sqlite3 the adapter uses. */
export type SqliteDatabase = Database.Database;

/**
 * How long a write waits for another process's write to finish before it fails (ms). It must
 * outlast the longest write transaction another process makes: `serve` committing a full
 * 40,000-event processor batch or wake-up step, or an `import` doing the same beside it, on a
 * machine busy with other work too. A command that waits this long and still fails says so.
 */
export const BUSY_TIMEOUT_MS = 120_000;

/**
 * A write transaction that takes the write lock when it begins (`BEGIN IMMEDIATE`). A deferred
 * transaction that reads first and writes after cannot upgrade in WAL mode once another process
 * committed in between: SQLite fails it with SQLITE_BUSY at once, without waiting. Taking the
 * lock first makes it wait (up to BUSY_TIMEOUT_MS) for the other writer instead.
 */
export function writeTransaction<A extends unknown[], R>(
  db: SqliteDatabase,
  work: (...args: A) => R,
): (...args: A) => R {
  const transaction = db.transaction(work);
  return (...args) => transaction.immediate(...args);
}

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
  db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  migrate(db);
  return db;
}

/**
 * Runs the driver's synchronous work as a promise, so a failure (a constraint, a full disk)
 * reaches callers of the async port as a rejection, never as a synchronous throw.
 */
export const settle = <T>(work: () => T): Promise<T> => new Promise((resolve) => resolve(work()));

const schemaVersion = (db: SqliteDatabase): number => db.pragma('user_version', { simple: true }) as number;

function migrate(db: SqliteDatabase): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(
      `the database at schema version ${current} is newer than this Handoff (${MIGRATIONS.length}); upgrade Handoff`,
    );
  }
  // Each step re-reads the version under the write lock: another process opening the same file
  // at the same moment may have applied it already.
  const step = writeTransaction(db, () => {
    const version = schemaVersion(db);
    if (version >= MIGRATIONS.length) return false;
    db.exec(MIGRATIONS[version]!);
    db.pragma(`user_version = ${version + 1}`);
    return true;
  });
  if (current < MIGRATIONS.length) while (step());
}
