import type { QuarantinedEvent, QuarantineStore, QuarantineWrites } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import type { EventRow } from '../sqlite/event-log.ts';
import type { Pipeline, Sql } from './database.ts';
import { isFailedCheck } from './database.ts';
import { rowToEvent } from './event-log.ts';

interface QuarantineRow {
  seq: number;
  source_id: string;
  message_id: string;
  type: string;
  error_class: string;
  error_code: string;
  error_message: string;
  error_frame: string | null;
  quarantined_at: number;
  attempts: number;
  retry_requested: boolean;
}

const toQuarantined = (r: QuarantineRow): QuarantinedEvent => ({
  offset: r.seq,
  sourceId: r.source_id,
  messageId: r.message_id,
  type: r.type,
  error: { errorClass: r.error_class, code: r.error_code, message: r.error_message, frame: r.error_frame },
  quarantinedAt: r.quarantined_at,
  attempts: r.attempts,
  retryRequested: r.retry_requested,
});

/** The quarantine's reads and an operator's retry marks. */
export function postgresQuarantineStore(sql: Sql): QuarantineStore {
  const count = async (): Promise<number> => {
    const [row] = await sql<{ n: number }[]>`SELECT count(*)::bigint AS n FROM quarantined_events`;
    return row?.n ?? 0;
  };
  return {
    list: async (limit = 1_000) =>
      (await sql<QuarantineRow[]>`SELECT * FROM quarantined_events ORDER BY seq LIMIT ${limit}`).map(
        toQuarantined,
      ),
    count,
    requestRetry: async (which) => {
      if (which === 'all') {
        return sql.begin(async (tx) => {
          await tx`UPDATE quarantined_events SET retry_requested = true WHERE NOT retry_requested`;
          const [row] = await tx<{ n: number }[]>`SELECT count(*)::bigint AS n FROM quarantined_events`;
          return row?.n ?? 0;
        });
      }
      if (which.length === 0) return 0;
      // An offset marked already counts as marked: asking twice is not an error.
      const marked = await sql<{ seq: number }[]>`
        UPDATE quarantined_events SET retry_requested = true WHERE seq = ANY(${[...which]}::bigint[])
        RETURNING seq`;
      const found = new Set(marked.map((r) => r.seq));
      return which.filter((offset) => found.has(offset)).length;
    },
    dropWakeup: async (profileId) => {
      await sql`UPDATE profile_state SET wake_at = NULL WHERE profile_id = ${profileId}`;
    },
    marked: async (limit) => {
      const rows = await sql<({ seq: number } & Partial<EventRow>)[]>`
        SELECT q.seq, e.source_id, e.message_id, e.type, e.user_id, e.anonymous_id, e.name, e.ts,
               e.received_at, e.body
          FROM quarantined_events q LEFT JOIN events e ON e.seq = q.seq
         WHERE q.retry_requested ORDER BY q.seq LIMIT ${limit}`;
      return rows.map((r) => ({
        offset: r.seq,
        event: r.body === undefined || r.body === null ? undefined : rowToEvent(r as EventRow),
      }));
    },
  };
}

/**
 * Sends a batch's quarantine step within the batch's transaction. A claimed offset that is no
 * longer marked (another processor retried it first), or one claimed twice, fails the
 * transaction on the server; the function returned then tells it apart from other failures, as
 * the CursorMovedError that undid the batch.
 */
export function applyQuarantine(
  p: Pipeline,
  writes: QuarantineWrites | undefined,
): () => Promise<CursorMovedError | undefined> {
  const none = (): Promise<undefined> => Promise.resolve(undefined);
  if (writes === undefined) return none;
  let lost: () => Promise<CursorMovedError | undefined> = none;
  if (writes.claimed.length > 0) {
    const claimed = writes.claimed;
    const answer = p.answer(p.tx`
      WITH claimed AS (
        UPDATE quarantined_events SET retry_requested = false
         WHERE seq = ANY(${[...claimed]}::bigint[]) AND retry_requested RETURNING seq)
      SELECT handoff_fail('a quarantined event was retried by another processor')
        FROM (SELECT count(*) AS n FROM claimed) AS c WHERE c.n <> ${claimed.length}`);
    lost = () =>
      answer.then(
        () => undefined,
        (error: unknown) =>
          isFailedCheck(error) ? new CursorMovedError(`quarantine retry of ${claimed[0]}`, 1, 0) : undefined,
      );
  }
  if (writes.released.length > 0)
    p.send(p.tx`DELETE FROM quarantined_events WHERE seq = ANY(${[...writes.released]}::bigint[])`);
  // An offset twice in one step counts twice: each round holds an offset at most once.
  let rest = writes.add;
  while (rest.length > 0) {
    const seen = new Set<number>();
    const round = rest.filter((a) => !seen.has(a.event.offset) && seen.add(a.event.offset));
    rest = rest.filter((a) => !round.includes(a));
    const col = <T>(f: (a: (typeof round)[number]) => T): T[] => round.map(f);
    p.send(p.tx`
      INSERT INTO quarantined_events (seq, source_id, message_id, type, error_class, error_code,
        error_message, error_frame, quarantined_at, attempts)
      SELECT s, src, m, t, ec, code, msg, fr, at, 1
        FROM unnest(${col((a) => a.event.offset)}::bigint[], ${col((a) => a.event.sourceId)}::text[],
                    ${col((a) => a.event.messageId)}::text[], ${col((a) => a.event.type)}::text[],
                    ${col((a) => a.error.errorClass)}::text[], ${col((a) => a.error.code)}::text[],
                    ${col((a) => a.error.message)}::text[], ${col((a) => a.error.frame)}::text[],
                    ${col((a) => a.at)}::bigint[]) AS r(s, src, m, t, ec, code, msg, fr, at)
      ON CONFLICT (seq) DO UPDATE SET error_class = excluded.error_class, error_code = excluded.error_code,
        error_message = excluded.error_message, error_frame = excluded.error_frame,
        quarantined_at = excluded.quarantined_at, attempts = quarantined_events.attempts + 1`);
  }
  return lost;
}
