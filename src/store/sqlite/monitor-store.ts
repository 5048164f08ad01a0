import type { CheckName, CheckSample, ConversionCounts, MonitorStore } from '../../monitor/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** Check samples, and the read models checks and metrics are computed from. Reads only, apart from samples. */
export function sqliteMonitorStore(db: SqliteDatabase): MonitorStore {
  const insert = db.prepare(
    'INSERT INTO monitor_samples (check_name, audience, destination, at, value) VALUES (?, ?, ?, ?, ?)',
  );
  const record = writeTransaction(db, (samples: readonly CheckSample[]) => {
    for (const s of samples) insert.run(s.check, s.audience, s.destination, s.at, s.value);
  });
  const series = db.prepare<[CheckName, string, string, number], { at: number; value: number }>(
    `SELECT at, value FROM monitor_samples WHERE check_name = ? AND audience = ? AND destination = ? AND at >= ?
     ORDER BY at`,
  );
  const prune = db.prepare('DELETE FROM monitor_samples WHERE at < ?');
  const audienceCounts = db.prepare<[], { audience: string; members: number; heldOut: number }>(
    `SELECT audience, count(*) AS members, sum(held_out) AS heldOut FROM memberships GROUP BY audience ORDER BY audience`,
  );
  const overstayed = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM memberships WHERE audience = ? AND since < ?',
  );
  // A member counts as matched when the item for it is wanted on the list and acknowledged there.
  const matchCounts = db.prepare<[string], { audience: string; accepted: number }>(
    `SELECT m.audience, count(DISTINCT m.profile_id) AS accepted FROM memberships m
     JOIN sync_items i ON i.audience = m.audience AND i.profile_id = m.profile_id
     WHERE i.destination = ? AND m.held_out = 0 AND i.desired = 1 AND i.sent = 1
     GROUP BY m.audience`,
  );
  // An exit is owed until the destination acknowledges it (state done); one never added is done at once.
  const unacknowledgedExits = db.prepare<[string, number], { audience: string; n: number }>(
    `SELECT audience, count(*) AS n FROM sync_items
     WHERE destination = ? AND desired = 0 AND state <> 'done' AND changed_at < ? GROUP BY audience`,
  );
  const deadCounts = db.prepare<[string], { audience: string; n: number }>(
    `SELECT audience, count(*) AS n FROM sync_items WHERE destination = ? AND state = 'dead' GROUP BY audience`,
  );
  const lastAcknowledged = db.prepare<[string], { audience: string; at: number }>(
    `SELECT audience, max(at) AS at FROM sync_log WHERE destination = ? AND result = 'ok' GROUP BY audience`,
  );
  const queueDepth = db.prepare<[string], { pending: number | null; retrying: number | null }>(
    `SELECT count(*) AS pending, sum(CASE WHEN next_attempt_at > 0 THEN 1 ELSE 0 END) AS retrying
     FROM sync_items WHERE destination = ? AND state = 'pending'`,
  );
  const wakeups = db.prepare<[number], { pending: number; overdue: number | null }>(
    `SELECT count(*) AS pending, sum(CASE WHEN wake_at <= ? THEN 1 ELSE 0 END) AS overdue
     FROM profile_state WHERE wake_at IS NOT NULL`,
  );
  const eventAfter = db.prepare<[number], { offset: number; receivedAt: number }>(
    'SELECT seq AS offset, received_at AS receivedAt FROM events WHERE seq > ? ORDER BY seq LIMIT 1',
  );
  const changeCounts = db.prepare<[number, number], { audience: string; enters: number; exits: number }>(
    `SELECT audience, sum(CASE WHEN change = 'enter' THEN 1 ELSE 0 END) AS enters,
       sum(CASE WHEN change = 'exit' THEN 1 ELSE 0 END) AS exits
     FROM changes WHERE at >= ? AND at < ? GROUP BY audience ORDER BY audience`,
  );
  // Each profile's first entry in the period; converted when it has the event at or after that entry.
  const conversions = db.prepare<
    [number, string],
    { audience: string; held_out: number; n: number; converted: number }
  >(
    `WITH entries AS (
       SELECT audience, profile_id, held_out, min(at) AS at FROM changes
       WHERE change = 'enter' AND at >= ? GROUP BY audience, profile_id)
     SELECT x.audience, x.held_out, count(*) AS n,
       sum(EXISTS (SELECT 1 FROM profile_events pe CROSS JOIN events e ON e.seq = pe.seq
         WHERE pe.profile_id = x.profile_id AND e.type = 'track' AND e.name = ? AND e.ts >= x.at)) AS converted
     FROM entries x GROUP BY x.audience, x.held_out ORDER BY x.audience, x.held_out`,
  );
  const maxEvent = db.prepare<[], { n: number | null }>('SELECT max(seq) AS n FROM events');
  const maxLog = db.prepare<[], { n: number | null }>('SELECT max(id) AS n FROM sync_log');
  const stored = db.prepare<[number], { source: string; type: string; count: number }>(
    'SELECT source_id AS source, type, count(*) AS count FROM events WHERE seq > ? GROUP BY source_id, type',
  );
  // Only a change's first acknowledgement: a reconcile re-asserting it later is not delivery latency.
  const acknowledged = db.prepare<[number], { destination: string; audience: string; ms: number }>(
    `SELECT l.destination, l.audience, l.at - e.received_at AS ms FROM sync_log l
     JOIN changes c ON c.seq = l.change_seq
     JOIN events e ON e.seq = json_extract(c.cause, '$.offset')
     WHERE l.id > ? AND l.result = 'ok' AND json_extract(c.cause, '$.kind') = 'event'
       AND NOT EXISTS (SELECT 1 FROM sync_log p WHERE p.destination = l.destination AND p.contact = l.contact
         AND p.id < l.id AND p.list = l.list AND p.change_seq = l.change_seq AND p.result = 'ok')`,
  );

  return {
    record: (samples) => settle(() => record(samples)),
    series: (check, audience, destination, since) =>
      settle(() => series.all(check, audience, destination, since)),
    prune: (before) => settle(() => prune.run(before).changes),
    audienceCounts: () => settle(() => audienceCounts.all().map((r) => ({ ...r, heldOut: r.heldOut ?? 0 }))),
    overstayed: (before) =>
      settle(() => new Map([...before].map(([audience, at]) => [audience, overstayed.get(audience, at)!.n]))),
    matchCounts: (destination) => settle(() => matchCounts.all(destination)),
    unacknowledgedExits: (destination, before) =>
      settle(() => new Map(unacknowledgedExits.all(destination, before).map((r) => [r.audience, r.n]))),
    deadCounts: (destination) =>
      settle(() => new Map(deadCounts.all(destination).map((r) => [r.audience, r.n]))),
    lastAcknowledged: (destination) =>
      settle(() => new Map(lastAcknowledged.all(destination).map((r) => [r.audience, r.at]))),
    queueDepth: (destination) =>
      settle(() => {
        const r = queueDepth.get(destination);
        return { pending: r?.pending ?? 0, retrying: r?.retrying ?? 0 };
      }),
    wakeups: (overdueAt) =>
      settle(() => {
        const r = wakeups.get(overdueAt);
        return { pending: r?.pending ?? 0, overdue: r?.overdue ?? 0 };
      }),
    eventAfter: (offset) => settle(() => eventAfter.get(offset)),
    changeCounts: (since, until) => settle(() => changeCounts.all(since, until)),
    conversions: (event, since) =>
      settle(() => {
        const byAudience = new Map<string, ConversionCounts>();
        for (const r of conversions.all(since, event)) {
          let c = byAudience.get(r.audience);
          if (!c)
            byAudience.set(
              r.audience,
              (c = {
                audience: r.audience,
                treated: 0,
                treatedConverted: 0,
                heldOut: 0,
                heldOutConverted: 0,
              }),
            );
          if (r.held_out === 1) {
            c.heldOut = r.n;
            c.heldOutConverted = r.converted;
          } else {
            c.treated = r.n;
            c.treatedConverted = r.converted;
          }
        }
        return [...byAudience.values()];
      }),
    watermarks: () => settle(() => ({ eventSeq: maxEvent.get()?.n ?? 0, logId: maxLog.get()?.n ?? 0 })),
    tallies: (eventSeq, logId) =>
      settle(
        db.transaction(() => ({
          eventSeq: maxEvent.get()?.n ?? eventSeq,
          logId: maxLog.get()?.n ?? logId,
          stored: stored.all(eventSeq),
          acknowledged: acknowledged.all(logId),
        })),
      ),
  };
}
