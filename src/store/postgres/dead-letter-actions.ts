import type { DeadLetterKey, SyncStore } from '../../sync/ports.ts';
import type { Sql } from './database.ts';

const contacts = (sql: Sql, items: readonly DeadLetterKey[]) => sql.array(items.map((i) => i.contact));
const lists = (sql: Sql, items: readonly DeadLetterKey[]) => sql.array(items.map((i) => i.list));

/** Acting on chosen dead letters: send them again, or resolve them without sending (recorded). */
export function postgresDeadLetterActions(sql: Sql): Pick<SyncStore, 'retryDead' | 'skipDead'> {
  return {
    // One statement each, locking in (contact, list) order: an item no longer dead (another operator
    // got there first) is not counted.
    retryDead: async (destination, items) => {
      if (items.length === 0) return 0;
      const [row] = await sql<{ n: number }[]>`
        WITH locked AS (
          SELECT i.contact, i.list FROM sync_items i
          WHERE i.destination = ${destination} AND i.state = 'dead' AND (i.contact, i.list) IN (
            SELECT * FROM unnest(${contacts(sql, items)}::text[], ${lists(sql, items)}::text[]))
          ORDER BY i.contact, i.list FOR UPDATE),
        retried AS (
          UPDATE sync_items i SET state = 'pending', attempts = 0, next_attempt_at = 0 FROM locked k
          WHERE i.destination = ${destination} AND i.contact = k.contact AND i.list = k.list AND i.state = 'dead'
          RETURNING 1)
        SELECT count(*)::integer AS n FROM retried`;
      return row!.n;
    },
    // A skip leaves a row in the log like a send's, so the ledger says who gave up on the item and when.
    skipDead: async (destination, items, at, note) => {
      if (items.length === 0) return 0;
      const [row] = await sql<{ n: number }[]>`
        WITH keys AS (
          SELECT k.contact, k.list, min(k.n) AS n
          FROM unnest(${contacts(sql, items)}::text[], ${lists(sql, items)}::text[]) WITH ORDINALITY AS k(contact, list, n)
          GROUP BY k.contact, k.list),
        locked AS (
          SELECT i.contact, i.list, k.n FROM sync_items i JOIN keys k ON k.contact = i.contact AND k.list = i.list
          WHERE i.destination = ${destination} AND i.state = 'dead'
          ORDER BY i.contact, i.list FOR UPDATE OF i),
        skipped AS (
          UPDATE sync_items i SET state = 'done' FROM locked k
          WHERE i.destination = ${destination} AND i.contact = k.contact AND i.list = k.list AND i.state = 'dead'
          RETURNING i.contact, i.list, i.audience, i.desired, i.change_seq, k.n),
        logged AS (
          INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, status, error_key,
            message, request, at)
          SELECT ${destination}, contact, list, audience, desired, change_seq, 'skipped', NULL, NULL, ${note}, NULL, ${at}::bigint
          FROM skipped ORDER BY n
          RETURNING 1)
        SELECT count(*)::integer AS n FROM logged`;
      return row!.n;
    },
  };
}
