import type { EventColumns, LoggedEvent } from '../../ingest/event.ts';
import { columnsOf } from '../../ingest/event.ts';
import type { AppendOutcome, EventLog } from '../ports.ts';
import type { EventRow } from '../sqlite/event-log.ts';
import { toEvent } from '../sqlite/event-log.ts';
import type { Sql } from './database.ts';
import type { Announcement } from './signals.ts';

type Outcome = AppendOutcome['results'][number];

/** The event columns, as the log's queries select them. */
export const EVENT_COLUMNS =
  'seq, source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body';

/** A logged event from a row of `events` read with EVENT_COLUMNS. */
export const rowToEvent = (row: EventRow): LoggedEvent => toEvent(row);

/**
 * Inserts rows (already free of repeats among themselves) in one statement, in order, skipping
 * any whose (source, messageId) is logged already, for all time: by the unique index, or kept in
 * forgotten_events when its profile was deleted. Returns the keys of the rows it stored. When it
 * stores any, the same statement sends `told`'s NOTIFY, which PostgreSQL delivers at the commit:
 * the signal of an append costs no statement of its own, and goes out only if the rows do.
 *
 * The rows go as one JSON array of arrays, parsed once on the server as jsonb: 19,787 and 19,127
 * events/s through `bench:ingest -- --store postgres --events 200000` against 13,587 and 15,579
 * with nine `unnest`ed text arrays, whose array syntax escapes every quote of every body.
 *
 * The statement first takes the schema's append lock, a transaction-level advisory lock, so that
 * offsets are taken in commit order across every process writing to this schema. Why: the
 * processor reads `seq > cursor` and moves its cursor to the last offset it read. An identity
 * column hands out offsets at insert, not at commit, so without the lock process A could take
 * offsets 5..9, process B 10..12 and commit first; a read between the two commits moves the
 * cursor to 12 and never reads 5..9. Under the lock a writer takes its offsets only after the
 * previous writer's commit is visible (PostgreSQL lets a transaction's locks go after its commit
 * is visible), so a reader that sees an offset sees every lower one that will ever commit. The
 * lock is taken before any offset because offsets (the column's default) are computed on the
 * rows the join with `append_lock` emits, and the join emits none before that CTE has run.
 *
 * One statement, in its own implicit transaction: the lock is held only while the server runs
 * the insert and its commit, never while it waits for this client (a frozen process cannot stall
 * the others' ingest), and an append costs one round trip as before. Chosen over reading only
 * below the oldest running transaction (`pg_snapshot_xmin` against an xid column): transaction
 * ids are taken at the first write, not in offset order, so that rule needs a cursor of (xid,
 * offset) and reads out of offset order through the whole engine. The cost: the inserts of
 * several processes go one at a time, as SQLite's do, each still carrying every batch its
 * process gathered meanwhile. Keyed by schema, so installs in other schemas do not wait. It
 * relies on the identity sequence handing out increasing values across sessions (CACHE 1,
 * PostgreSQL's default).
 */
async function insertRows(sql: Sql, rows: readonly EventColumns[], told: Told): Promise<Set<string>> {
  const stored = await sql<{ source_id: string; message_id: string }[]>`
    WITH append_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtext('handoff.append.' || current_schema()))),
    rows AS MATERIALIZED (
      SELECT e->>0 AS source_id, e->>1 AS message_id, e->>2 AS type, e->>3 AS user_id,
             e->>4 AS anonymous_id, e->>5 AS name, (e->>6)::bigint AS ts, (e->>7)::bigint AS received_at,
             e->>8 AS body, n
        FROM jsonb_array_elements(${JSON.stringify(rows)}::text::jsonb) WITH ORDINALITY AS r(e, n)),
    stored AS (
    INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
    SELECT source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body
      FROM append_lock, rows r
     WHERE NOT EXISTS (
       SELECT 1 FROM forgotten_events f WHERE f.source_id = r.source_id AND f.message_id = r.message_id)
     ORDER BY n
    ON CONFLICT (source_id, message_id) DO NOTHING
    RETURNING source_id, message_id),
    told AS MATERIALIZED (
      SELECT pg_notify(${told.channel}, ${told.payload}) FROM (SELECT FROM stored LIMIT 1) AS any_stored)
    SELECT source_id, message_id FROM stored, (SELECT count(*) FROM told) AS announced`;
  return new Set(stored.map((r) => `${r.source_id}\u0000${r.message_id}`));
}

/**
 * Appends several callers' batches as one: a repeat of an earlier row (in this call or any
 * before) is a duplicate, the first copy is the one kept. One statement, one commit.
 */
async function appendBatches(
  sql: Sql,
  batches: readonly (readonly EventColumns[])[],
  told: Told,
): Promise<Outcome[][]> {
  const first = new Set<string>();
  const rows: EventColumns[] = [];
  const keys = batches.map((batch) =>
    batch.map((given) => {
      const row = wellFormed(given);
      const key = `${row[0]}\u0000${row[1]}`;
      if (first.has(key)) return undefined;
      first.add(key);
      rows.push(row);
      return key;
    }),
  );
  const stored = rows.length === 0 ? new Set<string>() : await insertRows(sql, rows, told);
  return keys.map((batch) =>
    batch.map((key): Outcome => (key !== undefined && stored.has(key) ? 'stored' : 'duplicate')),
  );
}

// A lone UTF-16 surrogate (from a `\ud800` escape in a client's JSON) has no UTF-8 form.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** The body's place in EventColumns: JSON text, never scanned. */
const BODY = 8;
const lone = (v: unknown, i: number): v is string =>
  i !== BODY && typeof v === 'string' && v.search(LONE_SURROGATE) >= 0;

/**
 * The row as PostgreSQL stores it: a lone surrogate in a column becomes U+FFFD, as UTF-8
 * encoding makes it (jsonb would refuse its `\u` escape), so dedupe keys match what is stored.
 * The body is JSON text, whose own escapes keep any lone surrogate as plain ASCII: it is not
 * scanned, so an append reads only its short columns.
 */
function wellFormed(row: EventColumns): EventColumns {
  if (!row.some(lone)) return row;
  return row.map((v, i) => (lone(v, i) ? v.replace(LONE_SURROGATE, '\uFFFD') : v)) as EventColumns;
}

interface Pending {
  rows: readonly EventColumns[];
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: one INSERT in flight at a time; appends arriving meanwhile wait and go together
 * in the next one, and each caller's promise settles once its rows are committed. Offsets are
 * taken in commit order within this process by this queue, and across processes by the append
 * lock (see `insertRows`).
 */
export function groupCommit(sql: Sql, told: Told): (rows: readonly EventColumns[]) => Promise<AppendOutcome> {
  let queue: Pending[] = [];
  let running = false;
  const run = async (): Promise<void> => {
    running = true;
    while (queue.length > 0) {
      const pending = queue;
      queue = [];
      try {
        const results = await appendBatches(
          sql,
          pending.map((p) => p.rows),
          told,
        );
        pending.forEach((p, i) => p.resolve({ results: results[i]! }));
      } catch (error) {
        if (pending.length === 1) pending[0]!.reject(error);
        // One caller's bad batch must not fail the others: each is retried on its own.
        else
          for (const p of pending) {
            try {
              p.resolve({ results: (await appendBatches(sql, [p.rows], told))[0]! });
            } catch (own) {
              p.reject(own);
            }
          }
      }
    }
    running = false;
  };
  return (rows) =>
    new Promise((resolve, reject) => {
      queue.push({ rows, resolve, reject });
      if (!running) void run();
    });
}

/** The NOTIFY an append that stores events makes as it commits. */
type Told = { channel: string; payload: string };

/** The event log in the `events` table; an append that stores events announces `events`. */
export function postgresEventLog(sql: Sql, announcement: Announcement): EventLog {
  const append = groupCommit(sql, announcement('events'));
  return {
    append: (events) =>
      events.length === 0 ? Promise.resolve({ results: [] }) : append(events.map(columnsOf)),
    appendColumns: (rows) => (rows.length === 0 ? Promise.resolve({ results: [] }) : append(rows)),
    readAfter: async (after, limit) => {
      if (limit <= 0) return [];
      const rows = await sql<EventRow[]>`
        SELECT seq, source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body
          FROM events WHERE seq > ${after} ORDER BY seq LIMIT ${limit}`;
      return rows.map(rowToEvent);
    },
    head: async () => {
      const [row] = await sql<{ head: number | null }[]>`SELECT max(seq) AS head FROM events`;
      return row?.head ?? 0;
    },
  };
}
