import type { Lease, LeaseStore } from '../../shared/leases.ts';
import type { Sql } from './database.ts';

// The database's clock decides expiry, so clock skew between the hosts of the processes does not.
const NOW = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

/**
 * Job leases in `leases`, one row per job. `excluded.expires_at - ttl` is the database's now: a
 * lease its holder renews before it lapses keeps its epoch; a lapsed or free one starts a new
 * tenure (epoch + 1). The upsert locks the row, so two processes never both take it.
 */
export function postgresLeaseStore(sql: Sql): LeaseStore {
  return {
    acquire: async (name, holder, ttlMs) => {
      const rows = await sql<{ epoch: number }[]>`
        INSERT INTO leases (name, holder, epoch, expires_at)
        VALUES (${name}, ${holder}, 1, ${sql.unsafe(NOW)} + ${ttlMs}::bigint)
        ON CONFLICT (name) DO UPDATE SET
          epoch = CASE WHEN leases.holder = excluded.holder
                         AND leases.expires_at > excluded.expires_at - ${ttlMs}::bigint
                  THEN leases.epoch ELSE leases.epoch + 1 END,
          holder = excluded.holder,
          expires_at = excluded.expires_at
        WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.expires_at - ${ttlMs}::bigint
        RETURNING epoch`;
      const row = rows[0];
      return row === undefined ? undefined : { epoch: Number(row.epoch) };
    },
    release: async (name, holder, epoch) => {
      await sql`
        UPDATE leases SET expires_at = ${sql.unsafe(NOW)}
        WHERE name = ${name} AND holder = ${holder} AND epoch = ${epoch}`;
    },
    list: async () =>
      (
        await sql<{ name: string; holder: string; epoch: number; expires_at: number; expired: boolean }[]>`
          SELECT name, holder, epoch, expires_at, expires_at <= ${sql.unsafe(NOW)} AS expired
          FROM leases ORDER BY name`
      ).map((r): Lease => ({
        name: r.name,
        holder: r.holder,
        epoch: Number(r.epoch),
        expiresAt: Number(r.expires_at),
        expired: r.expired,
      })),
  };
}
