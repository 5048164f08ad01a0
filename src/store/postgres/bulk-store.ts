import type { BulkJob, BulkJobPatch, BulkResult, BulkStore } from '../../sync/ports.ts';
import type { Sql } from './database.ts';

interface JobRow {
  id: number;
  destination: string;
  list: string;
  add_to: boolean;
  token: string;
  state: BulkJob['state'];
  rows: number;
  remote_id: string | null;
  status: string | null;
  total_items: number | null;
  completed_items: number | null;
  result: string | null;
  message: string | null;
  attempts: number;
  created_at: number;
  submitted_at: number | null;
  status_since: number | null;
  ended_at: number | null;
  next_poll_at: number;
}

const toJob = (r: JobRow): BulkJob => ({
  id: r.id,
  destination: r.destination,
  list: r.list,
  add: r.add_to,
  token: r.token,
  state: r.state,
  rows: r.rows,
  remoteId: r.remote_id ?? undefined,
  status: r.status ?? undefined,
  totalItems: r.total_items ?? undefined,
  completedItems: r.completed_items ?? undefined,
  result: r.result === null ? undefined : (JSON.parse(r.result) as BulkResult),
  message: r.message ?? undefined,
  attempts: r.attempts,
  createdAt: r.created_at,
  submittedAt: r.submitted_at ?? undefined,
  statusSince: r.status_since ?? undefined,
  endedAt: r.ended_at ?? undefined,
  nextPollAt: r.next_poll_at,
});

const COLUMNS: Record<keyof BulkJobPatch, string> = {
  state: 'state',
  remoteId: 'remote_id',
  status: 'status',
  totalItems: 'total_items',
  completedItems: 'completed_items',
  result: 'result',
  message: 'message',
  attempts: 'attempts',
  submittedAt: 'submitted_at',
  statusSince: 'status_since',
  endedAt: 'ended_at',
  nextPollAt: 'next_poll_at',
};

/** The bulk job ledger (table sync_bulk_jobs, column sync_items.bulk_job) on PostgreSQL. */
export function postgresBulkStore(sql: Sql): BulkStore {
  // Items a job may take: pending and due, in no job, allowed in bulk, not failing repeatedly.
  const eligible = (destination: string, now: number) =>
    sql`destination = ${destination} AND state = 'pending' AND due_at <= ${now} AND next_attempt_at <= ${now}
      AND bulk_job IS NULL AND bulk_ok AND attempts < 2`;

  return {
    candidates: async (destination, now, threshold) => {
      const rows = await sql<{ list: string; add: boolean; count: number }[]>`
        SELECT list, desired AS "add", count(*) AS count FROM sync_items WHERE ${eligible(destination, now)}
        GROUP BY list, desired HAVING count(*) >= ${threshold} ORDER BY max(priority) DESC, list, desired DESC`;
      return rows.map((c) => ({ list: c.list, add: c.add, count: c.count }));
    },
    plan: (job) =>
      sql.begin(async (tx): Promise<BulkJob | undefined> => {
        const [created] = await tx<{ id: number }[]>`
          INSERT INTO sync_bulk_jobs (destination, list, add_to, token, state, rows, created_at, next_poll_at)
          VALUES (${job.destination}, ${job.list}, ${job.add}, ${job.token}, 'planned', 0, ${job.at}, 0)
          RETURNING id`;
        const id = created!.id;
        const assigned =
          job.from === undefined
            ? // The items are chosen once, in a CTE: an `IN (… LIMIT n FOR UPDATE)` subquery may be
              // rescanned per row, skip the rows this statement already changed and take more than n.
              await tx`
                WITH chosen AS MATERIALIZED (
                  SELECT contact FROM sync_items
                  WHERE ${eligible(job.destination, job.at)} AND list = ${job.list} AND desired = ${job.add}
                  ORDER BY contact LIMIT ${job.limit} FOR UPDATE)
                UPDATE sync_items s SET bulk_job = ${id} FROM chosen
                WHERE s.destination = ${job.destination} AND s.list = ${job.list} AND s.contact = chosen.contact`
            : await tx`
                UPDATE sync_items SET bulk_job = ${id}
                WHERE bulk_job = ${job.from.job} AND list = ${job.list}
                  AND contact = ANY(${tx.array([...job.from.contacts])}::text[])`;
        if (assigned.count === 0) {
          await tx`DELETE FROM sync_bulk_jobs WHERE id = ${id}`;
          return undefined;
        }
        const [row] = await tx<JobRow[]>`
          UPDATE sync_bulk_jobs SET rows = ${assigned.count} WHERE id = ${id} RETURNING *`;
        return toJob(row!);
      }),
    active: async (destination) => {
      const rows = await sql<JobRow[]>`
        SELECT * FROM sync_bulk_jobs WHERE destination = ${destination} AND state IN ('planned', 'running')
        ORDER BY id`;
      return rows.map(toJob);
    },
    recent: async (destination, limit) => {
      const rows = await sql<JobRow[]>`
        SELECT * FROM sync_bulk_jobs WHERE destination = ${destination} ORDER BY id DESC LIMIT ${limit}`;
      return rows.map(toJob);
    },
    byToken: async (token) => {
      const [row] = await sql<JobRow[]>`
        SELECT * FROM sync_bulk_jobs WHERE token = ${token} AND state IN ('planned', 'running')`;
      return row && toJob(row);
    },
    contactsOf: async (job, after, limit) => {
      const rows = await sql<{ contact: string }[]>`
        SELECT contact FROM sync_items WHERE bulk_job = ${job} AND contact > ${after}
        ORDER BY contact LIMIT ${limit}`;
      return rows.map((r) => r.contact);
    },
    update: async (job, patch) => {
      const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
      if (entries.length === 0) return;
      const values = Object.fromEntries(
        entries.map(([k, v]) => [COLUMNS[k as keyof BulkJobPatch], k === 'result' ? JSON.stringify(v) : v]),
      );
      await sql`UPDATE sync_bulk_jobs SET ${sql(values)} WHERE id = ${job}`;
    },
    complete: (job, at, request, message) =>
      sql.begin(async (tx) => {
        const [row] = await tx<{ add_to: boolean }[]>`
          SELECT add_to FROM sync_bulk_jobs WHERE id = ${job} FOR UPDATE`;
        if (!row) return 0;
        const add = row.add_to;
        await tx`
          INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, status, error_key,
            message, request, at)
          SELECT destination, contact, list, audience, ${add}, change_seq, 'ok', 200, NULL, ${message}, ${request}, ${at}
          FROM sync_items WHERE bulk_job = ${job} ORDER BY contact, list`;
        const acknowledged = await tx`
          UPDATE sync_items SET sent = ${add}, sent_at = ${at}, attempts = 0, next_attempt_at = 0, last_error = NULL,
            bulk_job = NULL,
            state = CASE WHEN state = 'dead' THEN 'dead' WHEN desired = ${add} THEN 'done' ELSE 'pending' END
          WHERE bulk_job = ${job}`;
        return acknowledged.count;
      }),
    release: async (job, options) => {
      const released = await sql`
        UPDATE sync_items SET bulk_job = NULL, next_attempt_at = ${options.nextAttemptAt},
          last_error = ${options.message}, bulk_ok = ${options.perContact ? sql`false` : sql`bulk_ok`},
          attempts = attempts + ${options.countAttempt ? 1 : 0}
        WHERE bulk_job = ${job}`;
      return released.count;
    },
  };
}
