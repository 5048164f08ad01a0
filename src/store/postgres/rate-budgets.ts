import type { RateBudgetStore } from '../../sync/ports.ts';
import type { Sql } from './database.ts';

/**
 * Rate budgets in `rate_budgets`, one row per account (GCRA). A claim is one UPDATE of the row
 * locked by its own subquery (FOR UPDATE reads the newest version once another claim commits), so
 * racing processes get consecutive slots and never the same one; a slot further ahead than any
 * pause allows (set by a clock later than the caller's) is brought in by the same statement.
 */
export function postgresRateBudgets(sql: Sql): RateBudgetStore {
  return {
    take: async (account, { now, count, intervalMs, aheadMs, maxWaitMs }) => {
      const reach = now + aheadMs;
      for (;;) {
        const [row] = await sql<{ slot: number; n: number }[]>`
          UPDATE rate_budgets r SET next_at = c.slot + c.n * ${intervalMs}::float8
          FROM (
            SELECT account, slot,
                   CASE WHEN slot <= ${reach}::float8
                        THEN least(${count}::int, floor((${reach}::float8 - slot) / ${intervalMs}::float8)::int + 1)
                        ELSE 0 END AS n
            FROM (
              SELECT account, greatest(least(next_at, ${now + maxWaitMs}::float8), ${now}::float8) AS slot
              FROM rate_budgets WHERE account = ${account} FOR UPDATE
            ) locked
          ) c
          WHERE r.account = c.account
          RETURNING c.slot, c.n`;
        if (row !== undefined) {
          const slot = Number(row.slot);
          const granted = Number(row.n);
          return granted > 0
            ? { granted, waitMs: slot - now }
            : { granted: 0, waitMs: Math.max(0, slot - reach) };
        }
        await sql`INSERT INTO rate_budgets (account, next_at) VALUES (${account}, ${now}::float8)
                  ON CONFLICT (account) DO NOTHING`;
      }
    },
    pauseUntil: async (account, until) => {
      await sql`
        INSERT INTO rate_budgets (account, next_at) VALUES (${account}, ${until}::float8)
        ON CONFLICT (account) DO UPDATE SET next_at = greatest(rate_budgets.next_at, excluded.next_at)`;
    },
    nextSlot: async (account) => {
      const [row] = await sql<{ next_at: number }[]>`
        SELECT next_at FROM rate_budgets WHERE account = ${account}`;
      return row === undefined ? undefined : Number(row.next_at);
    },
  };
}
