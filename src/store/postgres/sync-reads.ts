import type { DeadLetter, SyncCounts, SyncStore } from '../../sync/ports.ts';
import type { Sql } from './database.ts';
import type { ItemRow } from './rows.ts';
import { ITEM_COLUMNS, all, toItem } from './rows.ts';

type SyncReads = Pick<
  SyncStore,
  | 'counts'
  | 'deadLetters'
  | 'retry'
  | 'reassert'
  | 'itemsOfMember'
  | 'itemsOfMembers'
  | 'unmatchedAfter'
  | 'items'
>;

/**
 * The ledger's reads and the operator's bulk actions (retry all dead, re-assert), which lock the
 * items they change in (contact, list) order, as every write of several items does.
 */
export function postgresSyncReads(sql: Sql): SyncReads {
  return {
    counts: (destination) =>
      all(sql<SyncCounts[]>`
      SELECT audience, list,
        count(*) FILTER (WHERE sent)::integer AS members,
        count(*) FILTER (WHERE state = 'pending')::integer AS pending,
        count(*) FILTER (WHERE state = 'dead')::integer AS dead,
        (SELECT count(*) FROM sync_unmatched u WHERE u.destination = ${destination} AND u.audience = i.audience)::integer
          AS unmatched
      FROM sync_items i WHERE destination = ${destination} GROUP BY audience, list
      UNION ALL
      SELECT u.audience, '' AS list, 0, 0, 0, count(*)::integer FROM sync_unmatched u
      WHERE u.destination = ${destination}
        AND u.audience NOT IN (SELECT audience FROM sync_items WHERE destination = u.destination)
      GROUP BY u.audience
      ORDER BY audience, list`),
    deadLetters: async (destination, audience) => {
      const rows = await sql<
        (Omit<DeadLetter, 'status' | 'errorKey'> & { status: number | null; errorKey: string | null })[]
      >`
        SELECT i.contact, i.list, i.audience, i.desired, i.attempts, l.status, l.error_key AS "errorKey",
          coalesce(l.message, i.last_error) AS message, l.request, l.at
        FROM sync_items i LEFT JOIN LATERAL (
          SELECT status, error_key, message, request, at FROM sync_log
          WHERE destination = i.destination AND contact = i.contact AND list = i.list ORDER BY id DESC LIMIT 1
        ) l ON true
        WHERE i.destination = ${destination} AND i.state = 'dead'
          AND (${audience ?? null}::text IS NULL OR i.audience = ${audience ?? null})
        ORDER BY l.at NULLS FIRST, i.contact, i.list`;
      return rows.map((d) => ({ ...d, status: d.status ?? undefined, errorKey: d.errorKey ?? undefined }));
    },
    retry: async (destination, audience) => {
      const [row] = await sql<{ n: number }[]>`
        WITH locked AS (
          SELECT contact, list FROM sync_items
          WHERE destination = ${destination} AND state = 'dead'
            AND (${audience ?? null}::text IS NULL OR audience = ${audience ?? null})
          ORDER BY contact, list FOR UPDATE),
        retried AS (
          UPDATE sync_items i SET state = 'pending', attempts = 0, next_attempt_at = 0 FROM locked k
          WHERE i.destination = ${destination} AND i.contact = k.contact AND i.list = k.list AND i.state = 'dead'
          RETURNING 1)
        SELECT count(*)::integer AS n FROM retried`;
      return row!.n;
    },
    reassert: async (destination, options = {}) => {
      const audience = options.audience ?? null;
      const contacts = options.contacts === undefined ? null : sql.array([...options.contacts]);
      const [row] = await sql<{ n: number }[]>`
        WITH locked AS (
          SELECT contact, list FROM sync_items
          WHERE destination = ${destination} AND (sent IS NOT NULL OR desired)
            AND (${audience}::text IS NULL OR audience = ${audience})
            AND (${contacts}::text[] IS NULL OR contact = ANY(${contacts}::text[]))
          ORDER BY contact, list FOR UPDATE),
        reasserted AS (
          UPDATE sync_items i SET state = 'pending', attempts = 0, next_attempt_at = 0, sent = NULL FROM locked k
          WHERE i.destination = ${destination} AND i.contact = k.contact AND i.list = k.list
            AND (i.sent IS NOT NULL OR i.desired)
          RETURNING 1)
        SELECT count(*)::integer AS n FROM reasserted`;
      return row!.n;
    },
    itemsOfMember: async (destination, audience, profileId) =>
      (
        await sql<ItemRow[]>`
          SELECT ${sql(ITEM_COLUMNS)} FROM sync_items
          WHERE destination = ${destination} AND audience = ${audience} AND profile_id = ${profileId}
          ORDER BY contact, list`
      ).map(toItem),
    itemsOfMembers: async (destination, members) => {
      if (members.length === 0) return [];
      const rows = await sql<ItemRow[]>`
        SELECT ${sql(ITEM_COLUMNS)} FROM sync_items i
        WHERE i.destination = ${destination} AND (i.audience, i.profile_id) IN (
          SELECT * FROM unnest(
            ${sql.array(members.map((m) => m.audience))}::text[], ${sql.array(members.map((m) => m.profileId))}::text[]))
        ORDER BY audience, profile_id, contact, list`;
      return rows.map(toItem);
    },
    unmatchedAfter: (destination, after, limit) =>
      all(sql<{ audience: string; profileId: string }[]>`
      SELECT audience, profile_id AS "profileId" FROM sync_unmatched
      WHERE destination = ${destination} AND (audience, profile_id) > (${after.audience}::text, ${after.profileId}::text)
      ORDER BY audience, profile_id LIMIT ${limit}`),
    items: async (destination, contact) =>
      (
        await sql<ItemRow[]>`
          SELECT ${sql(ITEM_COLUMNS)} FROM sync_items
          WHERE destination = ${destination} AND (${contact ?? null}::text IS NULL OR contact = ${contact ?? null})
          ORDER BY contact, list`
      ).map(toItem),
  };
}
