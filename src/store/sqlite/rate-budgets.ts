import type { RateBudgetStore, RateGrant, RateTake } from '../../sync/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** Rate budgets in `rate_budgets`, one row per account (GCRA); each grant is one write transaction. */
export function sqliteRateBudgets(db: SqliteDatabase): RateBudgetStore {
  const get = db.prepare<[string], { next_at: number }>('SELECT next_at FROM rate_budgets WHERE account = ?');
  const put = db.prepare<[string, number]>(
    `INSERT INTO rate_budgets (account, next_at) VALUES (?, ?)
     ON CONFLICT (account) DO UPDATE SET next_at = excluded.next_at`,
  );
  const later = db.prepare<[string, number]>(
    `INSERT INTO rate_budgets (account, next_at) VALUES (?, ?)
     ON CONFLICT (account) DO UPDATE SET next_at = max(rate_budgets.next_at, excluded.next_at)`,
  );
  const take = writeTransaction(db, (account: string, t: RateTake): RateGrant => {
    const { now, intervalMs, aheadMs, maxWaitMs } = t;
    const next = get.get(account)?.next_at ?? now;
    // A slot further ahead than any pause allows was set by a clock later than this one.
    const slot = Math.max(Math.min(next, now + maxWaitMs), now);
    if (slot - now > aheadMs) {
      if (slot !== Math.max(next, now)) put.run(account, slot);
      return { granted: false, waitMs: slot - aheadMs - now };
    }
    put.run(account, slot + intervalMs);
    return { granted: true, waitMs: slot - now };
  });
  const pause = writeTransaction(db, (account: string, until: number) => void later.run(account, until));
  return {
    take: (account, request) => settle(() => take(account, request)),
    pauseUntil: (account, until) => settle(() => pause(account, until)),
    nextSlot: (account) => settle(() => get.get(account)?.next_at),
  };
}
