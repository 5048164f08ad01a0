import type { DesiredState, ItemResult, SyncStore, Unmatched } from '../../sync/ports.ts';
import { CursorMovedError } from '../ports.ts';
import type postgres from 'postgres';
import type { Sql } from './database.ts';
import type { ItemRow } from './rows.ts';
import { ITEM_COLUMNS, keyOf, rounds, toItem } from './rows.ts';

type Tx = postgres.TransactionSql;

/**
 * A new desired state resets the retry budget: it is a new thing to deliver. The item is done
 * when the destination is known to hold it already. With no acknowledged send, a removal is still
 * owed unless no add can have gone out: an add whose reply was lost may be on the list. Likewise a
 * change back to the acknowledged value while the other one was owed is sent again: that send may
 * have gone out unrecorded (the process died or lost its lease between the request and recording
 * it). (SET reads the row's old values through `s`.) One statement per round of distinct items.
 */
function upsertDesired(tx: Tx, destination: string, desired: readonly DesiredState[]) {
  return tx`
    INSERT INTO sync_items AS s (destination, contact, list, audience, profile_id, email, desired, rev, change_seq,
      cause, version, changed_at, priority, due_at, state)
    SELECT ${destination}, d.contact, d.list, d.audience, d.profile_id, d.email, d.desired, 1, d.change_seq,
      d.cause, d.version, d.changed_at, d.priority, d.due_at, CASE WHEN d.desired THEN 'pending' ELSE 'done' END
    FROM unnest(
      ${tx.array(desired.map((d) => d.contact))}::text[], ${tx.array(desired.map((d) => d.list))}::text[],
      ${tx.array(desired.map((d) => d.audience))}::text[], ${tx.array(desired.map((d) => d.profileId))}::text[],
      ${tx.array(desired.map((d) => d.email ?? null))}::text[], ${tx.array(desired.map((d) => d.desired))}::boolean[],
      ${tx.array(desired.map((d) => d.changeSeq))}::bigint[], ${tx.array(desired.map((d) => d.cause))}::text[],
      ${tx.array(desired.map((d) => d.version))}::text[], ${tx.array(desired.map((d) => d.changedAt))}::bigint[],
      ${tx.array(desired.map((d) => d.priority))}::integer[], ${tx.array(desired.map((d) => d.dueAt))}::bigint[]
    ) AS d(contact, list, audience, profile_id, email, desired, change_seq, cause, version, changed_at, priority, due_at)
    ORDER BY d.contact, d.list
    ON CONFLICT (destination, contact, list) DO UPDATE SET
      audience = excluded.audience, profile_id = excluded.profile_id, email = coalesce(excluded.email, s.email),
      desired = excluded.desired, rev = s.rev + 1, change_seq = excluded.change_seq, cause = excluded.cause,
      version = excluded.version, changed_at = excluded.changed_at, priority = excluded.priority,
      due_at = excluded.due_at, attempts = 0, next_attempt_at = 0, last_error = NULL, bulk_ok = true,
      state = CASE
        WHEN s.sent IS NOT NULL THEN CASE WHEN excluded.desired = s.sent AND s.desired = s.sent THEN 'done' ELSE 'pending' END
        WHEN excluded.desired THEN 'pending'
        WHEN s.state = 'done' OR s.due_at > excluded.changed_at THEN 'done'
        ELSE 'pending' END`;
}

/** Unmatched rows set or cleared; the last word on each member wins, as applied in order. */
function writeUnmatched(tx: Tx, destination: string, unmatched: readonly Unmatched[]) {
  const last = new Map<string, Unmatched>();
  for (const u of unmatched) {
    const key = keyOf(u.audience, u.profileId);
    last.delete(key);
    last.set(key, u);
  }
  const cleared = [...last.values()].filter((u) => u.reason === undefined);
  const set = [...last.values()].filter((u) => u.reason !== undefined);
  const writes = [];
  if (cleared.length > 0)
    writes.push(tx`
      DELETE FROM sync_unmatched u USING unnest(
        ${tx.array(cleared.map((c) => c.audience))}::text[], ${tx.array(cleared.map((c) => c.profileId))}::text[]
      ) AS c(audience, profile_id)
      WHERE u.destination = ${destination} AND u.audience = c.audience AND u.profile_id = c.profile_id`);
  if (set.length > 0)
    writes.push(tx`
      INSERT INTO sync_unmatched (destination, audience, profile_id, reason, at)
      SELECT ${destination}, s.audience, s.profile_id, s.reason, s.at FROM unnest(
        ${tx.array(set.map((s) => s.audience))}::text[], ${tx.array(set.map((s) => s.profileId))}::text[],
        ${tx.array(set.map((s) => s.reason!))}::text[], ${tx.array(set.map((s) => s.at))}::bigint[]
      ) AS s(audience, profile_id, reason, at)
      ON CONFLICT (destination, audience, profile_id) DO UPDATE SET reason = excluded.reason, at = excluded.at`);
  return writes;
}

/** Acknowledged, rescheduled and dead-lettered items of one round (each item once). */
function applyRound(tx: Tx, destination: string, round: readonly ItemResult[]) {
  const ok = round.filter((r) => r.result === 'ok');
  const later = round.filter((r) => r.result !== 'ok');
  const writes = [];
  // The acknowledged value is what was sent; the item stays pending if a newer change moved it since.
  if (ok.length > 0)
    writes.push(tx`
      UPDATE sync_items i SET sent = r.value, sent_at = r.at, attempts = 0, next_attempt_at = 0, last_error = NULL,
        state = CASE WHEN i.desired = r.value THEN 'done' ELSE 'pending' END
      FROM unnest(
        ${tx.array(ok.map((r) => r.item.contact))}::text[], ${tx.array(ok.map((r) => r.item.list))}::text[],
        ${tx.array(ok.map((r) => r.item.desired))}::boolean[], ${tx.array(ok.map((r) => r.at))}::bigint[]
      ) AS r(contact, list, value, at)
      WHERE i.destination = ${destination} AND i.contact = r.contact AND i.list = r.list`);
  // A retry or a dead letter applies only to the state that was sent (`rev`), not a newer one.
  if (later.length > 0)
    writes.push(tx`
      UPDATE sync_items i SET attempts = r.attempts, last_error = r.message,
        next_attempt_at = CASE WHEN r.dead THEN i.next_attempt_at ELSE r.next_attempt_at END,
        state = CASE WHEN r.dead THEN 'dead' ELSE i.state END
      FROM unnest(
        ${tx.array(later.map((r) => r.item.contact))}::text[], ${tx.array(later.map((r) => r.item.list))}::text[],
        ${tx.array(later.map((r) => r.item.rev))}::bigint[], ${tx.array(later.map((r) => r.result === 'dead'))}::boolean[],
        ${tx.array(later.map((r) => r.attempts))}::integer[], ${tx.array(later.map((r) => r.nextAttemptAt))}::bigint[],
        ${tx.array(later.map((r) => r.message))}::text[]
      ) AS r(contact, list, rev, dead, attempts, next_attempt_at, message)
      WHERE i.destination = ${destination} AND i.contact = r.contact AND i.list = r.list AND i.rev = r.rev`);
  return writes;
}

/**
 * Locks the items results are for, in (contact, list) order, as every statement writing several
 * items does: two writers over overlapping items wait for each other and never deadlock.
 */
function lockItems(tx: Tx, destination: string, results: readonly ItemResult[]) {
  return tx`
    SELECT 1 FROM sync_items
    WHERE destination = ${destination} AND (contact, list) IN (
      SELECT * FROM unnest(
        ${tx.array(results.map((r) => r.item.contact))}::text[], ${tx.array(results.map((r) => r.item.list))}::text[]))
    ORDER BY contact, list FOR UPDATE`;
}

/** Every result appended to the sync log in one statement, in the order given. */
function appendLog(tx: Tx, destination: string, results: readonly ItemResult[]) {
  return tx`
    INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, status, error_key, message,
      request, at)
    SELECT ${destination}, r.contact, r.list, r.audience, r.value, r.change_seq, r.result, r.status, r.error_key,
      r.message, r.request, r.at
    FROM unnest(
      ${tx.array(results.map((r) => r.item.contact))}::text[], ${tx.array(results.map((r) => r.item.list))}::text[],
      ${tx.array(results.map((r) => r.item.audience))}::text[], ${tx.array(results.map((r) => r.item.desired))}::boolean[],
      ${tx.array(results.map((r) => r.item.changeSeq))}::bigint[], ${tx.array(results.map((r) => r.result))}::text[],
      ${tx.array(results.map((r) => r.status ?? null))}::integer[],
      ${tx.array(results.map((r) => r.errorKey ?? null))}::text[], ${tx.array(results.map((r) => r.message))}::text[],
      ${tx.array(results.map((r) => r.request))}::text[], ${tx.array(results.map((r) => r.at))}::bigint[]
    ) WITH ORDINALITY AS r(contact, list, audience, value, change_seq, result, status, error_key, message, request, at, n)
    ORDER BY r.n`;
}

/** Fewest desired states recorded before the items' statistics are taken again. */
const ANALYZE_AFTER = 5_000;

/**
 * Keeps the planner's picture of `sync_items` current. A large change set (a new audience's first
 * sync, a definition change) turns tens of thousands of items pending within seconds, long before
 * autovacuum's next look (a minute at best; never when it is off): planned on the empty table's
 * statistics, choosing the due items walked every pending item once per chosen contact (0.5 s a
 * round at 15,000 pending, against 13 ms once analysed). So this process analyses the table itself
 * once it has recorded a fifth of the table's rows (at least ANALYZE_AFTER) since its last look.
 * A failed ANALYZE is let go: the record has committed, and only plans would suffer.
 */
function itemStatistics(sql: Sql): (recorded: number) => Promise<void> {
  let since = 0;
  let rows = 0;
  let running = false;
  return async (recorded) => {
    since += recorded;
    if (running || since < Math.max(ANALYZE_AFTER, rows / 5)) return;
    running = true;
    since = 0;
    try {
      await sql`ANALYZE sync_items`;
      const [row] = await sql<{ rows: number }[]>`
        SELECT greatest(reltuples, 0)::float8 AS rows FROM pg_class WHERE oid = 'sync_items'::regclass`;
      rows = row?.rows ?? 0;
    } catch {
      since = ANALYZE_AFTER;
    } finally {
      running = false;
    }
  };
}

/** The outbox → items state machine: recording desired states, choosing what is due, applying results. */
export function postgresSyncWrites(sql: Sql): Pick<SyncStore, 'record' | 'due' | 'nextDueAt' | 'results'> {
  const recorded = itemStatistics(sql);
  return {
    // The cursor row is locked first, so records of one destination apply one after another;
    // the writes follow in the same round trip and are undone if the cursor had moved.
    record: async (destination, cursor, desired, unmatched) => {
      await sql.begin(async (tx) => {
        const itemKey = (d: DesiredState) => keyOf(d.contact, d.list);
        const [[row]] = await Promise.all([
          tx<{ position: number }[]>`
            INSERT INTO cursors (name, position) VALUES (${cursor.name}, 0)
            ON CONFLICT (name) DO UPDATE SET position = cursors.position RETURNING position`,
          ...rounds(desired, itemKey).map((round) => upsertDesired(tx, destination, round)),
          ...writeUnmatched(tx, destination, unmatched),
          ...(cursor.to === cursor.from
            ? []
            : [tx`UPDATE cursors SET position = ${cursor.to} WHERE name = ${cursor.name}`]),
        ]);
        if (row!.position !== cursor.from)
          throw new CursorMovedError(cursor.name, cursor.from, row!.position);
      });
      await recorded(desired.length);
    },
    // The batch is chosen by contact, so every due list of a chosen contact travels in its one request.
    due: async (destination, now, limit) => {
      const rows = await sql<ItemRow[]>`
        SELECT ${sql(ITEM_COLUMNS)} FROM sync_items
        WHERE destination = ${destination} AND state = 'pending' AND due_at <= ${now} AND next_attempt_at <= ${now}
          AND bulk_job IS NULL AND contact IN (
            SELECT contact FROM sync_items
            WHERE destination = ${destination} AND state = 'pending' AND due_at <= ${now} AND next_attempt_at <= ${now}
              AND bulk_job IS NULL
            ORDER BY priority DESC, due_at, contact LIMIT ${limit})
        ORDER BY priority DESC, due_at, contact, list`;
      return rows.map(toItem);
    },
    nextDueAt: async (destination) => {
      const [row] = await sql<{ at: number | null }[]>`
        SELECT min(greatest(due_at, next_attempt_at)) AS at FROM sync_items
        WHERE destination = ${destination} AND state = 'pending' AND bulk_job IS NULL`;
      return row?.at ?? null;
    },
    results: async (destination, results) => {
      if (results.length === 0) return;
      const itemKey = (r: ItemResult) => keyOf(r.item.contact, r.item.list);
      await sql.begin(async (tx) => {
        const writes = [lockItems(tx, destination, results)];
        for (const round of rounds(results, itemKey)) writes.push(...applyRound(tx, destination, round));
        writes.push(appendLog(tx, destination, results));
        await Promise.all(writes);
      });
    },
  };
}
