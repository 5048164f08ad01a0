import type { AdminQueries, Standing } from '../ports.ts';
import type { Sql } from './database.ts';
import { LABEL } from './admin-queries.ts';
import { all } from './rows.ts';

/**
 * The admin API's questions about who is where: each member's standing at a destination, the
 * overlap between audiences, and the lists a profile is on by the sync ledger.
 */
export function postgresAdminMembers(sql: Sql): Pick<AdminQueries, 'memberStanding' | 'overlap' | 'listsOf'> {
  return {
    // One pass over the audience's items and unmatched rows; a dead item outranks an acknowledged one.
    memberStanding: async (destination, audience, alsoIn) => {
      const rows = await sql<
        { profile_id: string; since: number; standing: Standing; label: string | null }[]
      >`
        WITH items AS (
          SELECT profile_id, bool_or(state = 'dead') AS dead, bool_or(desired AND coalesce(sent, false)) AS held
          FROM sync_items WHERE destination = ${destination} AND audience = ${audience} GROUP BY profile_id),
        unmatched AS (
          SELECT profile_id FROM sync_unmatched WHERE destination = ${destination} AND audience = ${audience})
        SELECT m.profile_id, m.since, ${sql.unsafe(LABEL)} AS label,
          CASE WHEN m.held_out THEN 'held_out'
               WHEN i.dead THEN 'refused'
               WHEN i.held THEN 'held'
               WHEN u.profile_id IS NOT NULL THEN 'no_identifier'
               ELSE 'pending' END AS standing
        FROM memberships m
        LEFT JOIN items i ON i.profile_id = m.profile_id
        LEFT JOIN unmatched u ON u.profile_id = m.profile_id
        WHERE m.audience = ${audience}
          AND (${alsoIn ?? null}::text IS NULL OR EXISTS (
            SELECT 1 FROM memberships o WHERE o.audience = ${alsoIn ?? null} AND o.profile_id = m.profile_id))
        ORDER BY m.since DESC, m.profile_id`;
      return rows.map((r) => ({
        profileId: r.profile_id,
        label: r.label ?? undefined,
        since: r.since,
        standing: r.standing,
      }));
    },
    overlap: () =>
      all(sql<{ a: string; b: string; members: number }[]>`
        SELECT x.audience AS a, y.audience AS b, count(*)::integer AS members
        FROM memberships x JOIN memberships y ON y.profile_id = x.profile_id AND y.audience > x.audience
        GROUP BY 1, 2 ORDER BY 1, 2`),
    listsOf: async (destination, profileId) => {
      const rows = await sql<
        {
          audience: string;
          list: string;
          contact: string;
          desired: boolean;
          sent: boolean | null;
          state: string;
        }[]
      >`
        SELECT audience, list, contact, desired, sent, state FROM sync_items
        WHERE destination = ${destination} AND profile_id = ${profileId} ORDER BY list, audience`;
      return rows.map((r) => ({
        audience: r.audience,
        list: r.list,
        contact: r.contact,
        wanted: r.desired,
        held: r.sent === true,
        state: r.state,
      }));
    },
  };
}
