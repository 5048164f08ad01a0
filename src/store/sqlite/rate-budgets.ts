import type { RateBudgetStore, RateGrant, RateTake } from '../../sync/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** Rate budgets in `rate_budgets`, one row per account (GCRA); each claim is one write transaction. */
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
    const { now, count, intervalMs, aheadMs, maxWaitMs } = t;
    const reach = now + aheadMs;
    // A slot further ahead than any pause allows was set by a clock later than this one.
    const stored = get.get(account)?.next_at;
    const slot = Math.max(Math.min(stored ?? now, now + maxWaitMs), now);
    const granted = slot <= reach ? Math.min(count, Math.floor((reach - slot) / intervalMs) + 1) : 0;
    if (granted > 0 || (stored !== undefined && stored > slot)) put.run(account, slot + granted * intervalMs);
    return granted > 0 ? { granted, waitMs: slot - now } : { granted: 0, waitMs: slot - reach };
  });
  const pause = writeTransaction(db, (account: string, until: number) => void later.run(account, until));
  return {
    take: (account, request) => settle(() => take(account, request)),
    pauseUntil: (account, until) => settle(() => pause(account, until)),
    nextSlot: (account) => settle(() => get.get(account)?.next_at),
  };
}
