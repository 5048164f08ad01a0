import type { BulkJob, BulkJobPatch, BulkResult, BulkStore } from '../../sync/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

interface JobRow {
  id: number;
  destination: string;
  list: string;
  add_to: number;
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
  add: r.add_to === 1,
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

export function sqliteBulkStore(db: SqliteDatabase): BulkStore {
  const ELIGIBLE = `destination = @destination AND state = 'pending' AND due_at <= @now AND next_attempt_at <= @now
    AND bulk_job IS NULL AND bulk_ok = 1 AND attempts < 2`;
  const candidates = db.prepare<
    { destination: string; now: number; threshold: number },
    { list: string; add: number; count: number }
  >(
    `SELECT list, desired AS "add", count(*) AS count FROM sync_items WHERE ${ELIGIBLE}
     GROUP BY list, desired HAVING count(*) >= @threshold ORDER BY max(priority) DESC, list, desired DESC`,
  );
  const insertJob = db.prepare(
    `INSERT INTO sync_bulk_jobs (destination, list, add_to, token, state, rows, created_at, next_poll_at)
     VALUES (@destination, @list, @add, @token, 'planned', 0, @at, 0)`,
  );
  const assign = db.prepare(
    `UPDATE sync_items SET bulk_job = @job WHERE (destination, contact, list) IN (
       SELECT destination, contact, list FROM sync_items WHERE ${ELIGIBLE} AND list = @list AND desired = @add
       ORDER BY contact LIMIT @limit)`,
  );
  const move = db.prepare(
    'UPDATE sync_items SET bulk_job = @job WHERE bulk_job = @from AND contact = @contact AND list = @list',
  );
  const setRows = db.prepare('UPDATE sync_bulk_jobs SET rows = ? WHERE id = ?');
  const removeJob = db.prepare('DELETE FROM sync_bulk_jobs WHERE id = ?');
  const byId = db.prepare<[number], JobRow>('SELECT * FROM sync_bulk_jobs WHERE id = ?');
  const plan = writeTransaction(db, (job: Parameters<BulkStore['plan']>[0]): BulkJob | undefined => {
    const add = job.add ? 1 : 0;
    const id = Number(insertJob.run({ ...job, add }).lastInsertRowid);
    let rows = 0;
    if (job.from === undefined) {
      rows = assign.run({
        job: id,
        destination: job.destination,
        now: job.at,
        list: job.list,
        add,
        limit: job.limit,
      }).changes;
    } else {
      for (const contact of job.from.contacts)
        rows += move.run({ job: id, from: job.from.job, contact, list: job.list }).changes;
    }
    if (rows === 0) {
      removeJob.run(id);
      return undefined;
    }
    setRows.run(rows, id);
    return toJob(byId.get(id)!);
  });
  const active = db.prepare<[string], JobRow>(
    `SELECT * FROM sync_bulk_jobs WHERE destination = ? AND state IN ('planned', 'running') ORDER BY id`,
  );
  const recent = db.prepare<[string, number], JobRow>(
    'SELECT * FROM sync_bulk_jobs WHERE destination = ? ORDER BY id DESC LIMIT ?',
  );
  const byToken = db.prepare<[string], JobRow>(
    `SELECT * FROM sync_bulk_jobs WHERE token = ? AND state IN ('planned', 'running')`,
  );
  const contactsOf = db.prepare<[number, string, number], { contact: string }>(
    'SELECT contact FROM sync_items WHERE bulk_job = ? AND contact > ? ORDER BY contact LIMIT ?',
  );
  const acknowledge = db.prepare(
    `UPDATE sync_items SET sent = @add, sent_at = @at, attempts = 0, next_attempt_at = 0, last_error = NULL,
       bulk_job = NULL, state = CASE WHEN state = 'dead' THEN 'dead' WHEN desired = @add THEN 'done' ELSE 'pending' END
     WHERE bulk_job = @job`,
  );
  const logCompleted = db.prepare(
    `INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, status, error_key, message, request, at)
     SELECT destination, contact, list, audience, @add, change_seq, 'ok', 200, NULL, @message, @request, @at
     FROM sync_items WHERE bulk_job = @job`,
  );
  const complete = writeTransaction(db, (job: number, at: number, request: string, message: string) => {
    const row = byId.get(job);
    if (!row) return 0;
    logCompleted.run({ job, add: row.add_to, message, request, at });
    return acknowledge.run({ job, add: row.add_to, at }).changes;
  });
  const release = db.prepare(
    `UPDATE sync_items SET bulk_job = NULL, next_attempt_at = @nextAttemptAt, last_error = @message,
       bulk_ok = CASE WHEN @perContact = 1 THEN 0 ELSE bulk_ok END, attempts = attempts + @count
     WHERE bulk_job = @job`,
  );

  return {
    candidates: (destination, now, threshold) =>
      settle(() =>
        candidates
          .all({ destination, now, threshold })
          .map((c) => ({ list: c.list, add: c.add === 1, count: c.count })),
      ),
    plan: (job) => settle(() => plan(job)),
    active: (destination) => settle(() => active.all(destination).map(toJob)),
    recent: (destination, limit) => settle(() => recent.all(destination, limit).map(toJob)),
    byToken: (token) =>
      settle(() => {
        const row = byToken.get(token);
        return row && toJob(row);
      }),
    contactsOf: (job, after, limit) => settle(() => contactsOf.all(job, after, limit).map((r) => r.contact)),
    update: (job, patch) =>
      settle(() => {
        const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
        if (entries.length === 0) return;
        const sets = entries.map(([k]) => `${COLUMNS[k as keyof BulkJobPatch]} = @${k}`).join(', ');
        const values = Object.fromEntries(
          entries.map(([k, v]) => [k, k === 'result' ? JSON.stringify(v) : v]),
        );
        db.prepare(`UPDATE sync_bulk_jobs SET ${sets} WHERE id = @id`).run({ ...values, id: job });
      }),
    complete: (job, at, request, message) => settle(() => complete(job, at, request, message)),
    release: (job, options) =>
      settle(
        () =>
          release.run({
            job,
            nextAttemptAt: options.nextAttemptAt,
            message: options.message,
            perContact: options.perContact ? 1 : 0,
            count: options.countAttempt ? 1 : 0,
          }).changes,
      ),
  };
}
