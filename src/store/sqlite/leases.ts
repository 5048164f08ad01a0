import type { Lease, LeaseStore } from '../../shared/leases.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

// One SQLite file is used by processes of one host, so real time (not the app's clock, which tests
// set to virtual time) decides expiry.

/**
 * Job leases in `leases`, one row per job. `excluded.expires_at - ttl` is now: a lease its holder
 * renews before it lapses keeps its epoch; a lapsed or free one starts a new tenure (epoch + 1).
 */
export function sqliteLeaseStore(db: SqliteDatabase, now: () => number = Date.now): LeaseStore {
  const take = db.prepare<
    [{ name: string; holder: string; expires: number; ttl: number }],
    { epoch: number }
  >(
    `INSERT INTO leases (name, holder, epoch, expires_at) VALUES (@name, @holder, 1, @expires)
     ON CONFLICT (name) DO UPDATE SET
       epoch = CASE WHEN leases.holder = excluded.holder AND leases.expires_at > excluded.expires_at - @ttl
               THEN leases.epoch ELSE leases.epoch + 1 END,
       holder = excluded.holder,
       expires_at = excluded.expires_at
     WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.expires_at - @ttl
     RETURNING epoch`,
  );
  const drop = db.prepare<[number, string, string, number]>(
    'UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND epoch = ?',
  );
  const all = db.prepare<[], { name: string; holder: string; epoch: number; expires_at: number }>(
    'SELECT name, holder, epoch, expires_at FROM leases ORDER BY name',
  );
  const acquire = writeTransaction(db, (name: string, holder: string, ttlMs: number) => {
    const row = take.get({ name, holder, expires: now() + ttlMs, ttl: ttlMs });
    return row === undefined ? undefined : { epoch: row.epoch };
  });
  const release = writeTransaction(db, (name: string, holder: string, epoch: number) => {
    drop.run(now(), name, holder, epoch);
  });
  return {
    acquire: (name, holder, ttlMs) => settle(() => acquire(name, holder, ttlMs)),
    release: (name, holder, epoch) => settle(() => release(name, holder, epoch)),
    list: () =>
      settle(() => {
        const at = now();
        return all.all().map((r): Lease => ({
          name: r.name,
          holder: r.holder,
          epoch: r.epoch,
          expiresAt: r.expires_at,
          expired: r.expires_at <= at,
        }));
      }),
  };
}
