import type { SyncItem } from '../../sync/model.ts';

/**
 * Splits writes into rounds in which each key appears at most once, keeping their order: a
 * round is one statement over arrays (`unnest`), which may not touch a row twice, and applying
 * the rounds in turn gives what applying the writes one by one would. Almost always one round.
 */
export function rounds<T>(rows: readonly T[], key: (row: T) => string): T[][] {
  const out: T[][] = [];
  const seen = new Map<string, number>();
  for (const row of rows) {
    const k = key(row);
    const n = seen.get(k) ?? 0;
    seen.set(k, n + 1);
    (out[n] ??= []).push(row);
  }
  return out;
}

/** A key of several text parts that no other parts give. */
export const keyOf = (...parts: string[]): string => JSON.stringify(parts);

/** A sync_items row as PostgreSQL returns it (bigint read as number, flags as boolean). */
export interface ItemRow {
  destination: string;
  contact: string;
  list: string;
  audience: string;
  profile_id: string;
  email: string | null;
  desired: boolean;
  rev: number;
  change_seq: number;
  priority: number;
  due_at: number;
  sent: boolean | null;
  state: SyncItem['state'];
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

export const ITEM_COLUMNS = [
  'destination',
  'contact',
  'list',
  'audience',
  'profile_id',
  'email',
  'desired',
  'rev',
  'change_seq',
  'priority',
  'due_at',
  'sent',
  'state',
  'attempts',
  'next_attempt_at',
  'last_error',
];

/** Rows as a plain array, as the port promises (the driver's result carries more). */
export const all = async <T>(rows: PromiseLike<readonly T[]>): Promise<T[]> => [...(await rows)];

export const toItem = (r: ItemRow): SyncItem => ({
  destination: r.destination,
  contact: r.contact,
  list: r.list,
  audience: r.audience,
  profileId: r.profile_id,
  email: r.email ?? undefined,
  desired: r.desired,
  rev: r.rev,
  changeSeq: r.change_seq,
  priority: r.priority,
  dueAt: r.due_at,
  sent: r.sent ?? undefined,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error ?? undefined,
});
