import type { LoggedEvent } from '../../ingest/event.ts';
import type { Message, MessageType } from '../../ingest/messages.ts';
import type { AdminQueries, ChangeBucket, SendBucket } from '../ports.ts';
import type { Sql } from './database.ts';
import { all } from './rows.ts';

interface EventRow {
  seq: number;
  source_id: string;
  message_id: string;
  type: MessageType;
  user_id: string | null;
  anonymous_id: string | null;
  name: string | null;
  ts: number;
  received_at: number;
  body: string;
}

const toEvent = (r: EventRow): LoggedEvent => ({
  offset: r.seq,
  sourceId: r.source_id,
  messageId: r.message_id,
  type: r.type,
  userId: r.user_id,
  anonymousId: r.anonymous_id,
  name: r.name,
  timestamp: r.ts,
  receivedAt: r.received_at,
  message: JSON.parse(r.body) as Message,
  body: r.body,
});

/** The email (or else userId) a member is shown by; `m` is the membership row. */
export const LABEL = `coalesce(
  (SELECT coalesce(i.address, i.value) FROM identifiers i
    WHERE i.profile_id = m.profile_id AND i.kind = 'email' ORDER BY i.first_seen, i.value LIMIT 1),
  (SELECT i.value FROM identifiers i WHERE i.profile_id = m.profile_id AND i.kind = 'userId' ORDER BY i.value LIMIT 1))`;

/** The admin API's read-only queries. Bucketing happens in SQL so a day of changes is one scan. */
export function postgresAdminQueries(sql: Sql): Omit<AdminQueries, 'memberStanding' | 'overlap' | 'listsOf'> {
  return {
    memberCounts: () =>
      all(sql<{ audience: string; members: number; heldOut: number }[]>`
        SELECT audience, count(*)::integer AS members, count(*) FILTER (WHERE held_out)::integer AS "heldOut"
        FROM memberships GROUP BY audience ORDER BY audience`),
    changeBuckets: (audience, since, bucketMs) =>
      all(sql<ChangeBucket[]>`
        SELECT at - at % ${bucketMs}::bigint AS at, count(*) FILTER (WHERE change = 'enter')::integer AS enters,
          count(*) FILTER (WHERE change = 'exit')::integer AS exits
        FROM changes WHERE at >= ${since} AND (${audience ?? null}::text IS NULL OR audience = ${audience ?? null})
        GROUP BY 1 ORDER BY 1`),
    sampleMembers: async (audience, limit) => {
      const rows = await sql<
        { profile_id: string; since: number; held_out: boolean; label: string | null }[]
      >`
        SELECT m.profile_id, m.since, m.held_out, ${sql.unsafe(LABEL)} AS label
        FROM memberships m WHERE m.audience = ${audience} ORDER BY m.since DESC, m.profile_id LIMIT ${limit}`;
      return rows.map((r) => ({
        profileId: r.profile_id,
        since: r.since,
        heldOut: r.held_out,
        label: r.label ?? undefined,
      }));
    },
    recentEvents: async (profileId, limit) => {
      const rows = await sql<EventRow[]>`
        SELECT e.seq, e.source_id, e.message_id, e.type, e.user_id, e.anonymous_id, e.name, e.ts, e.received_at, e.body
        FROM profile_events pe JOIN events e ON e.seq = pe.seq
        WHERE pe.profile_id = ${profileId} ORDER BY e.seq DESC LIMIT ${limit}`;
      return rows.map(toEvent);
    },
    sendBuckets: (destination, since, bucketMs) =>
      all(sql<SendBucket[]>`
        SELECT at - at % ${bucketMs}::bigint AS at, count(*) FILTER (WHERE result = 'ok')::integer AS ok,
          count(*) FILTER (WHERE result = 'retry')::integer AS retried,
          count(*) FILTER (WHERE result = 'dead')::integer AS dead,
          count(*) FILTER (WHERE status = 429)::integer AS "rateLimited"
        FROM sync_log WHERE destination = ${destination} AND at >= ${since}
        GROUP BY 1 ORDER BY 1`),
    lastSends: async (destination) => {
      const rows = await sql<{ audience: string; lastAt: number; lastOkAt: number | null }[]>`
        SELECT audience, max(at) AS "lastAt", max(at) FILTER (WHERE result = 'ok') AS "lastOkAt"
        FROM sync_log WHERE destination = ${destination} AND result <> 'skipped' GROUP BY audience ORDER BY audience`;
      return rows.map((r) => ({ audience: r.audience, lastAt: r.lastAt, lastOkAt: r.lastOkAt ?? undefined }));
    },
    acknowledged: async (destination, since, limit) => {
      const rows = await sql<{ audience: string; value: boolean; changedAt: number; at: number }[]>`
        SELECT l.audience, l.value, c.at AS "changedAt", l.at
        FROM sync_log l JOIN changes c ON c.seq = l.change_seq
        WHERE l.destination = ${destination} AND l.result = 'ok' AND l.at >= ${since} ORDER BY l.id DESC LIMIT ${limit}`;
      return rows.map((r) => ({ audience: r.audience, desired: r.value, changedAt: r.changedAt, at: r.at }));
    },
  };
}
