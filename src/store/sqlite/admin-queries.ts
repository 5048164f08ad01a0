import type { AdminQueries } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';
import type { EventRow } from './event-log.ts';
import { EVENTS_OF_PROFILE, toEvent } from './event-log.ts';

/** The admin API's read-only queries. Bucketing happens in SQL so a day of changes is one scan. */
export function sqliteAdminQueries(
  db: SqliteDatabase,
): Omit<AdminQueries, 'memberStanding' | 'overlap' | 'listsOf'> {
  const q = {
    memberCounts: db.prepare<[], { audience: string; members: number; heldOut: number }>(
      'SELECT audience, count(*) AS members, sum(held_out) AS heldOut FROM memberships GROUP BY audience',
    ),
    changeBuckets: db.prepare<
      { audience: string | null; since: number; bucket: number },
      { at: number; enters: number; exits: number }
    >(
      `SELECT at - at % @bucket AS at,
              sum(change = 'enter') AS enters, sum(change = 'exit') AS exits
         FROM changes WHERE at >= @since AND (@audience IS NULL OR audience = @audience)
        GROUP BY 1 ORDER BY 1`,
    ),
    sampleMembers: db.prepare<
      [string, number],
      { profile_id: string; since: number; held_out: number; label: string | null }
    >(
      `SELECT m.profile_id, m.since, m.held_out,
              coalesce(
                (SELECT coalesce(i.address, i.value) FROM identifiers i
                  WHERE i.profile_id = m.profile_id AND i.kind = 'email' ORDER BY i.first_seen, i.value LIMIT 1),
                (SELECT i.value FROM identifiers i
                  WHERE i.profile_id = m.profile_id AND i.kind = 'userId' ORDER BY i.value LIMIT 1)) AS label
         FROM memberships m WHERE m.audience = ? ORDER BY m.since DESC, m.profile_id LIMIT ?`,
    ),
    recentEvents: db.prepare<[string, number], EventRow>(
      `SELECT e.* FROM ${EVENTS_OF_PROFILE} ORDER BY e.seq DESC LIMIT ?`,
    ),
    sendBuckets: db.prepare<
      { destination: string; since: number; bucket: number },
      { at: number; ok: number; retried: number; dead: number; rateLimited: number }
    >(
      `SELECT at - at % @bucket AS at,
              sum(result = 'ok') AS ok, sum(result = 'retry') AS retried, sum(result = 'dead') AS dead,
              sum(status = 429) AS rateLimited
         FROM sync_log WHERE destination = @destination AND at >= @since
        GROUP BY 1 ORDER BY 1`,
    ),
    lastSends: db.prepare<[string], { audience: string; lastAt: number; lastOkAt: number | null }>(
      // A dead letter an operator skipped is in the log, but nothing was sent.
      `SELECT audience, max(at) AS lastAt, max(CASE WHEN result = 'ok' THEN at END) AS lastOkAt
         FROM sync_log WHERE destination = ? AND result <> 'skipped' GROUP BY audience ORDER BY audience`,
    ),
    acknowledged: db.prepare<
      [string, number, number],
      { audience: string; value: number; changedAt: number; at: number }
    >(
      `SELECT l.audience, l.value, c.at AS changedAt, l.at
         FROM sync_log l JOIN changes c ON c.seq = l.change_seq
        WHERE l.destination = ? AND l.result = 'ok' AND l.at >= ? ORDER BY l.id DESC LIMIT ?`,
    ),
  };
  return {
    memberCounts: () => settle(() => q.memberCounts.all()),
    changeBuckets: (audience, since, bucketMs) =>
      settle(() => q.changeBuckets.all({ audience: audience ?? null, since, bucket: bucketMs })),
    sampleMembers: (audience, limit) =>
      settle(() =>
        q.sampleMembers.all(audience, limit).map((r) => ({
          profileId: r.profile_id,
          since: r.since,
          heldOut: r.held_out === 1,
          label: r.label ?? undefined,
        })),
      ),
    recentEvents: (profileId, limit) => settle(() => q.recentEvents.all(profileId, limit).map(toEvent)),
    sendBuckets: (destination, since, bucketMs) =>
      settle(() => q.sendBuckets.all({ destination, since, bucket: bucketMs })),
    lastSends: (destination) =>
      settle(() => q.lastSends.all(destination).map((r) => ({ ...r, lastOkAt: r.lastOkAt ?? undefined }))),
    acknowledged: (destination, since, limit) =>
      settle(() =>
        q.acknowledged
          .all(destination, since, limit)
          .map((r) => ({ audience: r.audience, desired: r.value === 1, changedAt: r.changedAt, at: r.at })),
      ),
  };
}
