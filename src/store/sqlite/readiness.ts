import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readiness } from '../failures.ts';
import { storeUnavailableReason } from '../failures.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';

/** Less free space than this on the database's disk and the next commit may fail. */
const MIN_FREE_BYTES = 1024 * 1024;

/**
 * Probes whether the database takes writes: it takes the write lock and gives it back (a
 * read-only or failing file shows here), checks the page limit and the disk's free space.
 * It never waits for a lock: another writer holding it means the file is writable.
 */
export function sqliteReadiness(db: SqliteDatabase, path: string): () => Promise<Readiness> {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const rollback = db.prepare('ROLLBACK');
  return () =>
    settle((): Readiness => {
      try {
        if (!db.inTransaction) {
          const timeout = db.pragma('busy_timeout', { simple: true }) as number;
          db.pragma('busy_timeout = 0');
          try {
            begin.run();
            rollback.run();
          } catch (error) {
            if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY')) throw error;
          } finally {
            db.pragma(`busy_timeout = ${timeout}`);
          }
        }
        const pages = db.pragma('page_count', { simple: true }) as number;
        const limit = db.pragma('max_page_count', { simple: true }) as number;
        const free = db.pragma('freelist_count', { simple: true }) as number;
        if (pages >= limit && free === 0)
          return { ok: false, reason: 'the database is full (at its page limit)' };
        if (path !== ':memory:') {
          const disk = statfsSync(dirname(path));
          if (disk.bavail * disk.bsize < MIN_FREE_BYTES)
            return { ok: false, reason: 'no space is left on the disk holding the database' };
        }
        return { ok: true };
      } catch (error) {
        return {
          ok: false,
          reason: storeUnavailableReason(error) ?? `the database cannot be used: ${(error as Error).message}`,
        };
      }
    });
}
