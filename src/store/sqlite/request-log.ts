import type { RequestBucket, RequestCount, RequestLog, RequestRecord } from '../../sync/requests.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** The request log in the `sync_requests` table. */
export function sqliteRequestLog(db: SqliteDatabase): RequestLog {
  const insert = db.prepare(
    'INSERT INTO sync_requests (destination, method, endpoint, outcome, status, at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const append = writeTransaction(db, (records: readonly RequestRecord[]) => {
    for (const r of records)
      insert.run(r.destination, r.method, r.endpoint, r.outcome, r.status ?? null, r.at);
  });
  const maxId = db.prepare<[], { n: number | null }>('SELECT max(id) AS n FROM sync_requests');
  const tally = db.prepare<[number], RequestCount>(
    `SELECT destination, method, endpoint, outcome, count(*) AS count FROM sync_requests
     WHERE id > ? GROUP BY destination, method, endpoint, outcome`,
  );
  const counts = db.prepare<[string, number, number], RequestCount>(
    `SELECT destination, method, endpoint, outcome, count(*) AS count FROM sync_requests
     WHERE destination = ? AND at >= ? AND at < ? GROUP BY method, endpoint, outcome
     ORDER BY endpoint, method, outcome`,
  );
  const buckets = db.prepare<{ destination: string; since: number; bucket: number }, RequestBucket>(
    `SELECT at - at % @bucket AS at, count(*) AS requests, sum(outcome = '429') AS rateLimited
       FROM sync_requests WHERE destination = @destination AND at >= @since GROUP BY 1 ORDER BY 1`,
  );
  const items = db.prepare<
    [string, number, number],
    { ok: number | null; retry: number | null; dead: number | null }
  >(
    `SELECT sum(result = 'ok') AS ok, sum(result = 'retry') AS retry, sum(result = 'dead') AS dead
       FROM sync_log WHERE destination = ? AND at >= ? AND at < ?`,
  );
  const prune = db.prepare('DELETE FROM sync_requests WHERE at < ?');
  return {
    append: (records) => settle(() => append(records)),
    watermark: () => settle(() => maxId.get()?.n ?? 0),
    tally: (afterId) =>
      settle(db.transaction(() => ({ to: maxId.get()?.n ?? afterId, counts: tally.all(afterId) }))),
    counts: (destination, since, until) => settle(() => counts.all(destination, since, until)),
    buckets: (destination, since, bucketMs) =>
      settle(() => buckets.all({ destination, since, bucket: bucketMs })),
    items: (destination, since, until) =>
      settle(() => {
        const r = items.get(destination, since, until);
        return { ok: r?.ok ?? 0, retry: r?.retry ?? 0, dead: r?.dead ?? 0 };
      }),
    prune: (before) => settle(() => prune.run(before).changes),
  };
}
