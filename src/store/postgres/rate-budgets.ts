import type { RateBudgetStore, RateGrant } from '../../sync/ports.ts';
import type { Sql } from './database.ts';

/**
 * Rate budgets in `rate_budgets`, one row per account (GCRA). A grant is one conditional UPDATE:
 * PostgreSQL re-checks its condition on the newest row when processes race, so each slot goes to
 * one of them and the next slot moves on by an interval at every grant.
 */
export function postgresRateBudgets(sql: Sql): RateBudgetStore {
  return {
    take: async (account, { now, intervalMs, aheadMs, maxWaitMs }) => {
      const latest = now + maxWaitMs;
      for (;;) {
        const [row] = await sql<{ granted: number | null; current: number | null }[]>`
          WITH granted AS (
            UPDATE rate_budgets
            SET next_at = greatest(least(next_at, ${latest}::float8), ${now}::float8) + ${intervalMs}::float8
            WHERE account = ${account}
              AND greatest(least(next_at, ${latest}::float8), ${now}::float8) <= ${now + aheadMs}::float8
            RETURNING next_at)
          SELECT (SELECT next_at FROM granted) AS granted,
                 (SELECT next_at FROM rate_budgets WHERE account = ${account}) AS current`;
        if (row?.granted != null) {
          return { granted: true, waitMs: Math.max(0, Number(row.granted) - intervalMs - now) };
        }
        const current = row?.current == null ? undefined : Number(row.current);
        if (current !== undefined && current <= latest) return notYet(current, now, aheadMs);
        if (current !== undefined) {
          // A slot further ahead than any pause allows was set by a clock later than this one.
          await sql`UPDATE rate_budgets SET next_at = ${latest}::float8
                    WHERE account = ${account} AND next_at > ${latest}::float8`;
          continue;
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
      const [row] = await sql<
        { next_at: number }[]
      >`SELECT next_at FROM rate_budgets WHERE account = ${account}`;
      return row === undefined ? undefined : Number(row.next_at);
    },
  };
}

/** The wait until the account's next slot is within reach. */
function notYet(next: number, now: number, aheadMs: number): RateGrant {
  return { granted: false, waitMs: Math.max(0, Math.max(next, now) - aheadMs - now) };
}
