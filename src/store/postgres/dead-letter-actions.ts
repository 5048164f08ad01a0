import type { DeadLetterKey, SyncStore } from '../../sync/ports.ts';
import type { Sql } from './database.ts';

const contacts = (sql: Sql, items: readonly DeadLetterKey[]) => sql.array(items.map((i) => i.contact));
const lists = (sql: Sql, items: readonly DeadLetterKey[]) => sql.array(items.map((i) => i.list));

/** Acting on chosen dead letters: send them again, or resolve them without sending (recorded). */
export function postgresDeadLetterActions(sql: Sql): Pick<SyncStore, 'retryDead' | 'skipDead'> {
  return {
    // One statement each: an item that is no longer dead (another operator got there first) is not counted.
    retryDead: async (destination, items) => {
      if (items.length === 0) return 0;
      const done = await sql`
        UPDATE sync_items i SET state = 'pending', attempts = 0, next_attempt_at = 0
        FROM (SELECT DISTINCT * FROM unnest(${contacts(sql, items)}::text[], ${lists(sql, items)}::text[])) AS k(contact, list)
        WHERE i.destination = ${destination} AND i.contact = k.contact AND i.list = k.list AND i.state = 'dead'`;
      return done.count;
    },
    // A skip leaves a row in the log like a send's, so the ledger says who gave up on the item and when.
    skipDead: async (destination, items, at, note) => {
      if (items.length === 0) return 0;
      const [row] = await sql<{ n: number }[]>`
        WITH skipped AS (
          UPDATE sync_items i SET state = 'done'
          FROM (SELECT k.contact, k.list, min(k.n) AS n
                FROM unnest(${contacts(sql, items)}::text[], ${lists(sql, items)}::text[]) WITH ORDINALITY AS k(contact, list, n)
                GROUP BY k.contact, k.list) AS k
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
