import type { AdminQueries, Standing } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';

const LABEL = `coalesce(
  (SELECT coalesce(i.address, i.value) FROM identifiers i
    WHERE i.profile_id = m.profile_id AND i.kind = 'email' ORDER BY i.first_seen, i.value LIMIT 1),
  (SELECT i.value FROM identifiers i WHERE i.profile_id = m.profile_id AND i.kind = 'userId' ORDER BY i.value LIMIT 1))`;

/**
 * The admin API's questions about who is where: each member's standing at a destination, the
 * overlap between audiences, and the lists a profile is on by the sync ledger.
 */
export function sqliteAdminMembers(
  db: SqliteDatabase,
): Pick<AdminQueries, 'memberStanding' | 'overlap' | 'listsOf'> {
  // One pass over the audience's items and unmatched rows; a dead item outranks an acknowledged one.
  const standing = db.prepare<
    { destination: string; audience: string; alsoIn: string | null },
    { profile_id: string; since: number; standing: Standing; label: string | null }
  >(
    `WITH items AS (
       SELECT profile_id, max(state = 'dead') AS dead, max(desired = 1 AND sent = 1) AS held
         FROM sync_items WHERE destination = @destination AND audience = @audience GROUP BY profile_id),
     unmatched AS (
       SELECT profile_id FROM sync_unmatched WHERE destination = @destination AND audience = @audience)
     SELECT m.profile_id, m.since, ${LABEL} AS label,
            CASE WHEN m.held_out = 1 THEN 'held_out'
                 WHEN i.dead = 1 THEN 'refused'
                 WHEN i.held = 1 THEN 'held'
                 WHEN u.profile_id IS NOT NULL THEN 'no_identifier'
                 ELSE 'pending' END AS standing
       FROM memberships m
       LEFT JOIN items i ON i.profile_id = m.profile_id
       LEFT JOIN unmatched u ON u.profile_id = m.profile_id
      WHERE m.audience = @audience
        AND (@alsoIn IS NULL OR EXISTS (
              SELECT 1 FROM memberships o WHERE o.audience = @alsoIn AND o.profile_id = m.profile_id))
      ORDER BY m.since DESC, m.profile_id`,
  );
  const overlap = db.prepare<[], { a: string; b: string; members: number }>(
    `SELECT x.audience AS a, y.audience AS b, count(*) AS members
       FROM memberships x JOIN memberships y ON y.profile_id = x.profile_id AND y.audience > x.audience
      GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  const lists = db.prepare<
    [string, string],
    { audience: string; list: string; contact: string; desired: number; sent: number | null; state: string }
  >(
    `SELECT audience, list, contact, desired, sent, state FROM sync_items
      WHERE destination = ? AND profile_id = ? ORDER BY list, audience`,
  );
  return {
    memberStanding: (destination, audience, alsoIn) =>
      settle(() =>
        standing.all({ destination, audience, alsoIn: alsoIn ?? null }).map((r) => ({
          profileId: r.profile_id,
          label: r.label ?? undefined,
          since: r.since,
          standing: r.standing,
        })),
      ),
    overlap: () => settle(() => overlap.all()),
    listsOf: (destination, profileId) =>
      settle(() =>
        lists.all(destination, profileId).map((r) => ({
          audience: r.audience,
          list: r.list,
          contact: r.contact,
          wanted: r.desired === 1,
          held: r.sent === 1,
          state: r.state,
        })),
      ),
  };
}
