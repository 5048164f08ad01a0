import type { MonitorPorts } from './ports.ts';
import type { RequestCount, RequestOutcome } from '../sync/model.ts';
import { REQUEST_OUTCOMES } from '../sync/model.ts';

/** What was sent to one destination over the audit's period, counted as the destination saw it. */
export interface DestinationTraffic {
  destination: string;
  /** HTTP requests sent (every list lookup, PUT, and POST of a new contact). */
  requests: number;
  byMethod: Record<string, number>;
  byOutcome: Record<RequestOutcome, number>;
  /** Requests answered 429: responses, not the items they carried. */
  rateLimited: number;
  /** Every (method, endpoint, outcome) with its count. */
  detail: RequestCount[];
  /** Items (contact, list) settled by sends, by result. */
  items: { ok: number; retry: number; dead: number };
  /** Items dead-lettered now. */
  deadLetters: number;
}

/** Requests, 429s, items and dead letters per destination in [since, until). */
export async function destinationTraffic(
  store: MonitorPorts,
  destinations: readonly string[],
  { since, until }: { since: number; until: number },
): Promise<DestinationTraffic[]> {
  const out: DestinationTraffic[] = [];
  for (const destination of destinations) {
    const detail = await store.requests.counts(destination, since, until);
    const byMethod: Record<string, number> = {};
    const byOutcome = Object.fromEntries(REQUEST_OUTCOMES.map((o) => [o, 0])) as Record<
      RequestOutcome,
      number
    >;
    for (const c of detail) {
      byMethod[c.method] = (byMethod[c.method] ?? 0) + c.count;
      byOutcome[c.outcome] += c.count;
    }
    const dead = await store.monitor.deadCounts(destination);
    out.push({
      destination,
      requests: detail.reduce((n, c) => n + c.count, 0),
      byMethod,
      byOutcome,
      rateLimited: byOutcome['429'],
      detail,
      items: await store.requests.items(destination, since, until),
      deadLetters: [...dead.values()].reduce((n, x) => n + x, 0),
    });
  }
  return out;
}

/** One line per destination, for the text and Markdown audits. */
export function trafficLine(t: DestinationTraffic): string {
  const methods = Object.entries(t.byMethod)
    .map(([m, n]) => `${n} ${m}`)
    .join(', ');
  return (
    `${t.destination}: ${t.requests} requests${methods ? ` (${methods})` : ''}, ${t.rateLimited} answered 429, ` +
    `${t.byOutcome['5xx'] + t.byOutcome.network_error} failed (5xx or network); items ${t.items.ok} ok, ` +
    `${t.items.retry} retried, ${t.items.dead} dead; ${t.deadLetters} dead letters now`
  );
}
