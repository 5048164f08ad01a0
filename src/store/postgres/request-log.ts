import type { RequestBucket, RequestCount, RequestRecord } from '../../sync/model.ts';
import type { RequestLog } from '../../sync/ports.ts';
import type { Sql } from './database.ts';
import { all } from './rows.ts';

/** The request log in the `sync_requests` table. */
export function postgresRequestLog(sql: Sql): RequestLog {
  return {
    append: async (records: readonly RequestRecord[]) => {
      if (records.length === 0) return;
      await sql`
        INSERT INTO sync_requests (destination, method, endpoint, outcome, status, at)
        SELECT destination, method, endpoint, outcome, status, at FROM unnest(
          ${sql.array(records.map((r) => r.destination))}::text[], ${sql.array(records.map((r) => r.method))}::text[],
          ${sql.array(records.map((r) => r.endpoint))}::text[], ${sql.array(records.map((r) => r.outcome))}::text[],
          ${sql.array(records.map((r) => r.status ?? null))}::integer[], ${sql.array(records.map((r) => r.at))}::bigint[]
        ) WITH ORDINALITY AS r(destination, method, endpoint, outcome, status, at, n)
        ORDER BY n`;
    },
    watermark: async () => {
      const [r] = await sql<{ n: number | null }[]>`SELECT max(id) AS n FROM sync_requests`;
      return r?.n ?? 0;
    },
    // One snapshot, so `to` is exactly where the counts stop.
    tally: (afterId) =>
      sql.begin('isolation level repeatable read read only', async (tx) => {
        const [[max], counts] = await Promise.all([
          tx<{ n: number | null }[]>`SELECT max(id) AS n FROM sync_requests`,
          tx<RequestCount[]>`
            SELECT destination, method, endpoint, outcome, count(*)::integer AS count FROM sync_requests
            WHERE id > ${afterId} GROUP BY destination, method, endpoint, outcome
            ORDER BY destination, method, endpoint, outcome`,
        ]);
        return { to: max?.n ?? afterId, counts: [...counts] };
      }),
    counts: (destination, since, until) =>
      all(sql<RequestCount[]>`
        SELECT destination, method, endpoint, outcome, count(*)::integer AS count FROM sync_requests
        WHERE destination = ${destination} AND at >= ${since} AND at < ${until}
        GROUP BY destination, method, endpoint, outcome ORDER BY endpoint, method, outcome`),
    buckets: (destination, since, bucketMs) =>
      all(sql<RequestBucket[]>`
        SELECT at - at % ${bucketMs}::bigint AS at, count(*)::integer AS requests,
          count(*) FILTER (WHERE outcome = '429')::integer AS "rateLimited"
        FROM sync_requests WHERE destination = ${destination} AND at >= ${since}
        GROUP BY 1 ORDER BY 1`),
    items: async (destination, since, until) => {
      const [r] = await sql<{ ok: number; retry: number; dead: number }[]>`
        SELECT count(*) FILTER (WHERE result = 'ok')::integer AS ok,
          count(*) FILTER (WHERE result = 'retry')::integer AS retry,
          count(*) FILTER (WHERE result = 'dead')::integer AS dead
        FROM sync_log WHERE destination = ${destination} AND at >= ${since} AND at < ${until}`;
      return { ok: r?.ok ?? 0, retry: r?.retry ?? 0, dead: r?.dead ?? 0 };
    },
    prune: async (before) => (await sql`DELETE FROM sync_requests WHERE at < ${before}`).count,
  };
}
