import type { CheckSample, ConversionCounts, MonitorStore, SeriesPoint } from '../../monitor/ports.ts';
import type { Sql } from './database.ts';
import { all } from './rows.ts';

const toMap = (rows: readonly { audience: string; n: number }[]): Map<string, number> =>
  new Map(rows.map((r) => [r.audience, r.n]));

/** Check samples, and the read models checks and metrics are computed from. Reads only, apart from samples. */
export function postgresMonitorStore(sql: Sql): MonitorStore {
  return {
    record: async (samples: readonly CheckSample[]) => {
      if (samples.length === 0) return;
      await sql`
        INSERT INTO monitor_samples (check_name, audience, destination, at, value)
        SELECT * FROM unnest(
          ${sql.array(samples.map((s) => s.check))}::text[], ${sql.array(samples.map((s) => s.audience))}::text[],
          ${sql.array(samples.map((s) => s.destination))}::text[], ${sql.array(samples.map((s) => s.at))}::bigint[],
          ${sql.array(samples.map((s) => s.value))}::double precision[])`;
    },
    series: (check, audience, destination, since) =>
      all(sql<SeriesPoint[]>`
        SELECT at, value FROM monitor_samples
        WHERE check_name = ${check} AND audience = ${audience} AND destination = ${destination} AND at >= ${since}
        ORDER BY at`),
    prune: async (before) => (await sql`DELETE FROM monitor_samples WHERE at < ${before}`).count,
    audienceCounts: () =>
      all(sql<{ audience: string; members: number; heldOut: number }[]>`
        SELECT audience, count(*)::integer AS members, count(*) FILTER (WHERE held_out)::integer AS "heldOut"
        FROM memberships GROUP BY audience ORDER BY audience`),
    overstayed: async (before) => {
      if (before.size === 0) return new Map();
      const rows = await sql<{ audience: string; n: number }[]>`
        SELECT b.audience,
          (SELECT count(*) FROM memberships m WHERE m.audience = b.audience AND m.since < b.before)::integer AS n
        FROM unnest(${sql.array([...before.keys()])}::text[], ${sql.array([...before.values()])}::bigint[])
          WITH ORDINALITY AS b(audience, before, i)
        ORDER BY b.i`;
      return toMap(rows);
    },
    // A member counts as matched when the item for it is wanted on the list and acknowledged there.
    matchCounts: (destination) =>
      all(sql<{ audience: string; accepted: number }[]>`
        SELECT m.audience, count(DISTINCT m.profile_id)::integer AS accepted FROM memberships m
        JOIN sync_items i ON i.audience = m.audience AND i.profile_id = m.profile_id
        WHERE i.destination = ${destination} AND NOT m.held_out AND i.desired AND i.sent
        GROUP BY m.audience ORDER BY m.audience`),
    // An exit is owed until the destination acknowledges it (state done); one never added is done at once.
    unacknowledgedExits: async (destination, before) =>
      toMap(
        await sql<{ audience: string; n: number }[]>`
          SELECT audience, count(*)::integer AS n FROM sync_items
          WHERE destination = ${destination} AND NOT desired AND state <> 'done' AND changed_at < ${before}
          GROUP BY audience ORDER BY audience`,
      ),
    deadCounts: async (destination) =>
      toMap(
        await sql<{ audience: string; n: number }[]>`
          SELECT audience, count(*)::integer AS n FROM sync_items WHERE destination = ${destination} AND state = 'dead'
          GROUP BY audience ORDER BY audience`,
      ),
    lastAcknowledged: async (destination) =>
      toMap(
        await sql<{ audience: string; n: number }[]>`
          SELECT audience, max(at) AS n FROM sync_log WHERE destination = ${destination} AND result = 'ok'
          GROUP BY audience ORDER BY audience`,
      ),
    queueDepth: async (destination) => {
      const [r] = await sql<{ pending: number; retrying: number }[]>`
        SELECT count(*)::integer AS pending, count(*) FILTER (WHERE next_attempt_at > 0)::integer AS retrying
        FROM sync_items WHERE destination = ${destination} AND state = 'pending'`;
      return { pending: r?.pending ?? 0, retrying: r?.retrying ?? 0 };
    },
    wakeups: async (overdueAt) => {
      const [r] = await sql<{ pending: number; overdue: number }[]>`
        SELECT count(*)::integer AS pending, count(*) FILTER (WHERE wake_at <= ${overdueAt})::integer AS overdue
        FROM profile_state WHERE wake_at IS NOT NULL`;
      return { pending: r?.pending ?? 0, overdue: r?.overdue ?? 0 };
    },
    eventAfter: async (offset) => {
      const [r] = await sql<{ offset: number; receivedAt: number }[]>`
        SELECT seq AS "offset", received_at AS "receivedAt" FROM events WHERE seq > ${offset} ORDER BY seq LIMIT 1`;
      return r && { offset: r.offset, receivedAt: r.receivedAt };
    },
    changeCounts: (since, until) =>
      all(sql<{ audience: string; enters: number; exits: number }[]>`
        SELECT audience, count(*) FILTER (WHERE change = 'enter')::integer AS enters,
          count(*) FILTER (WHERE change = 'exit')::integer AS exits
        FROM changes WHERE at >= ${since} AND at < ${until} GROUP BY audience ORDER BY audience`),
    // Each profile's first entry in the period; converted when it has the event at or after that entry.
    conversions: async (event, since) => {
      const rows = await sql<{ audience: string; held_out: boolean; n: number; converted: number }[]>`
        WITH entries AS (
          SELECT audience, profile_id, held_out, min(at) AS at FROM changes
          WHERE change = 'enter' AND at >= ${since} GROUP BY audience, profile_id, held_out)
        SELECT x.audience, x.held_out, count(*)::integer AS n,
          count(*) FILTER (WHERE EXISTS (
            SELECT 1 FROM profile_events pe JOIN events e ON e.seq = pe.seq
            WHERE pe.profile_id = x.profile_id AND e.type = 'track' AND e.name = ${event} AND e.ts >= x.at))::integer
            AS converted
        FROM entries x GROUP BY x.audience, x.held_out ORDER BY x.audience, x.held_out`;
      const byAudience = new Map<string, ConversionCounts>();
      for (const r of rows) {
        let c = byAudience.get(r.audience);
        if (!c) {
          c = { audience: r.audience, treated: 0, treatedConverted: 0, heldOut: 0, heldOutConverted: 0 };
          byAudience.set(r.audience, c);
        }
        if (r.held_out) {
          c.heldOut += r.n;
          c.heldOutConverted += r.converted;
        } else {
          c.treated += r.n;
          c.treatedConverted += r.converted;
        }
      }
      return [...byAudience.values()];
    },
    watermarks: async () => {
      const [r] = await sql<{ eventSeq: number | null; logId: number | null }[]>`
        SELECT (SELECT max(seq) FROM events) AS "eventSeq", (SELECT max(id) FROM sync_log) AS "logId"`;
      return { eventSeq: r?.eventSeq ?? 0, logId: r?.logId ?? 0 };
    },
    // One snapshot, so the watermarks returned are exactly where the counts stop.
    tallies: (eventSeq, logId) =>
      sql.begin('isolation level repeatable read read only', async (tx) => {
        const [[marks], stored, acknowledged] = await Promise.all([
          tx<{ eventSeq: number | null; logId: number | null }[]>`
            SELECT (SELECT max(seq) FROM events) AS "eventSeq", (SELECT max(id) FROM sync_log) AS "logId"`,
          tx<{ source: string; type: string; count: number }[]>`
            SELECT source_id AS source, type, count(*)::integer AS count FROM events WHERE seq > ${eventSeq}
            GROUP BY source_id, type ORDER BY source_id, type`,
          // Only a change's first acknowledgement: a reconcile re-asserting it later is not delivery latency.
          tx<{ destination: string; audience: string; ms: number }[]>`
            SELECT l.destination, l.audience, l.at - e.received_at AS ms FROM sync_log l
            JOIN changes c ON c.seq = l.change_seq
            JOIN events e ON e.seq = (c.cause::jsonb ->> 'offset')::bigint
            WHERE l.id > ${logId} AND l.result = 'ok' AND c.cause::jsonb ->> 'kind' = 'event'
              AND NOT EXISTS (SELECT 1 FROM sync_log p WHERE p.destination = l.destination AND p.contact = l.contact
                AND p.id < l.id AND p.list = l.list AND p.change_seq = l.change_seq AND p.result = 'ok')
            ORDER BY l.id`,
        ]);
        return {
          eventSeq: marks?.eventSeq ?? eventSeq,
          logId: marks?.logId ?? logId,
          stored: [...stored],
          acknowledged: [...acknowledged],
        };
      }),
  };
}
