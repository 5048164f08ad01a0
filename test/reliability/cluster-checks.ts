// What the cluster test checks at the end: audiences recomputed from the stored log, the fake
// Cordial account's request log against Retry-After and the rate, and the failover times.
import type { FakeCordial } from '../fakes/cordial/index.ts';
import type { RawSql } from '../helpers/store.ts';

/** One kill of a lease holder: which leases it held and how long until others held them all. */
export interface Failover {
  kill: number;
  names: string[];
  /** Kill → every lease held by another process (ms); Infinity when it never happened. */
  ms: number;
  /** The leases' new tenures, `name@epoch`. */
  to: string[];
}

export function failoverSummary(failovers: readonly Failover[]): string {
  const times = failovers.map((f) => f.ms).sort((a, b) => a - b);
  const median =
    times.length === 0
      ? NaN
      : times.length % 2
        ? times[(times.length - 1) / 2]!
        : (times[times.length / 2 - 1]! + times[times.length / 2]!) / 2;
  return [
    ...failovers.map((f) => `failover after kill ${f.kill} (${f.names.join(', ')}): ${f.ms} ms`),
    `failovers: ${times.length}, median ${Math.round(median)} ms, max ${times.at(-1) ?? NaN} ms`,
  ].join('\n');
}

/** The userIds in `audience` now, sorted. */
export async function members(db: RawSql, audience: string): Promise<string[]> {
  const rows = await db.query<{ value: string }>(
    `SELECT i.value FROM memberships m JOIN identifiers i ON i.profile_id = m.profile_id AND i.kind = 'userId'
     WHERE m.audience = ?`,
    audience,
  );
  return rows.map((r) => r.value).sort();
}

/**
 * Who each audience of CART_AND_PURCHASERS holds, recomputed from the stored log (the whole test
 * lies inside both windows): `cart_0_4h` iff a user's last Product Added is later than their last
 * Order Completed (or they have none); `purchased_7d` iff they completed an order. Events are
 * stamped with their receive time, read back from the log.
 */
export async function expectedMembers(db: RawSql): Promise<{ cart_0_4h: string[]; purchased_7d: string[] }> {
  const last = await db.query<{ user_id: string; added: string | null; ordered: string | null }>(
    `SELECT user_id,
            max(CASE WHEN name = 'Product Added' THEN ts END) AS added,
            max(CASE WHEN name = 'Order Completed' THEN ts END) AS ordered
       FROM events WHERE source_id = 'web' AND type = 'track' GROUP BY user_id`,
  );
  const num = (v: string | null) => (v === null ? undefined : Number(v));
  const cart = last.filter((u) => {
    const added = num(u.added);
    const ordered = num(u.ordered);
    return added !== undefined && (ordered === undefined || ordered < added);
  });
  return {
    cart_0_4h: cart.map((u) => u.user_id).sort(),
    purchased_7d: last
      .filter((u) => u.ordered !== null)
      .map((u) => u.user_id)
      .sort(),
  };
}

/** The most requests that arrived within any `windowMs`. */
function peak(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, from = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[from]! >= windowMs) from++;
    most = Math.max(most, i - from + 1);
  }
  return most;
}

/**
 * The account's request log against Retry-After and the rate. The rate is the account's token
 * bucket (`rate` a second, bursts of `rate`), the budget Handoff's `rateLimit` paces against: a
 * request the fake's own limiter refused went past it, whichever process sent it. Every process
 * sends one request at a time, so a request arriving inside a 429's wait was sent inside it.
 */
export function rateReport(fake: FakeCordial, rate: number) {
  const requests = [...fake.requests];
  const describe = (r: (typeof requests)[number]) =>
    `#${r.seq} ${r.method} ${r.path} at ${r.at} by ${r.headers.authorization ?? '?'}`;
  const insideRetryAfter = fake.requestsInsideRetryAfter().map(describe);
  const refusedByRate = requests.filter((r) => r.rateLimited && r.fault === undefined).map(describe);
  const injected429 = requests.filter((r) => r.status === 429 && r.fault !== undefined).length;
  const failed5xx = requests.filter((r) => (r.status ?? 0) >= 500).length;
  const senders = new Set(requests.map((r) => r.headers.authorization)).size;
  const busiest = peak(
    requests.map((r) => r.at),
    1000,
  );
  return {
    insideRetryAfter,
    refusedByRate,
    injected429,
    failed5xx,
    line:
      `Cordial: ${requests.length} requests from ${senders} processes; ${injected429} answered 429 (Retry-After), ` +
      `${failed5xx} 5xx; ${insideRetryAfter.length} inside a Retry-After wait; ${refusedByRate.length} refused by ` +
      `the account's limit of ${rate}/s; at most ${busiest} arrived within one second`,
  };
}

/** Where the sync stands for each of `emails`, for a failure message: its item, its log, the fake's requests. */
export async function syncTrail(db: RawSql, fake: FakeCordial, emails: readonly string[]): Promise<string> {
  const lines: string[] = [];
  for (const email of emails.slice(0, 5)) {
    const items = await db.query(
      'SELECT list, desired, sent, state, attempts, rev, change_seq, last_error, bulk_job FROM sync_items WHERE email = ?',
      email,
    );
    const logged = await db.query(
      `SELECT l.list, l.value, l.result, l.status, l.change_seq, l.at FROM sync_log l
         JOIN sync_items i ON i.contact = l.contact AND i.list = l.list WHERE i.email = ? ORDER BY l.id`,
      email,
    );
    const requests = fake.requests
      .filter((r) => `${decodeURIComponent(r.path)} ${JSON.stringify(r.body ?? '')}`.includes(email))
      .map(
        (r) =>
          `${r.method} ${decodeURIComponent(r.path)} → ${r.status} at ${r.at} ${JSON.stringify(r.body ?? '')}`,
      );
    lines.push(
      `${email}:\n  items ${JSON.stringify(items)}\n  log ${JSON.stringify(logged)}\n  requests:\n    ${requests.join('\n    ')}`,
    );
  }
  return lines.join('\n');
}
