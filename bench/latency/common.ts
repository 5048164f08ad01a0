import type { MembershipChange } from '../../src/engine/model.ts';
import { fmt, percentile } from '../lib.ts';

export const TARGET_ENTER_P99_MS = 50;
/** Across several serve processes a signal adds a NOTIFY's trip between them. */
export const TARGET_ENTER_P99_PROCESSES_MS = 100;
export const TARGET_LATENESS_P99_MS = 1_000;
export const HOUR = 3_600_000;
export const WEB_KEY = 'bench-web-key';

/** Wall-clock ms with sub-ms precision, comparable across threads. */

/** The messageIds of an ingest request's body: ingest routes take it as bytes (parsed on a worker thread). */
export function messageIdsOf(requestBody: unknown): string[] {
  const raw = Buffer.isBuffer(requestBody) ? (JSON.parse(requestBody.toString()) as unknown) : requestBody;
  const body = raw as { messageId?: unknown; batch?: { messageId?: unknown }[] } | undefined;
  return (body?.batch ?? [body]).flatMap((m) => (typeof m?.messageId === 'string' ? [m.messageId] : []));
}

/** The message id behind `c` when it is the cart_0_4h enter of a measured event (not a warm-up's). */
export function measuredEnter(c: MembershipChange): string | undefined {
  if (c.audience !== 'cart_0_4h' || c.change !== 'enter' || c.cause.kind !== 'event') return undefined;
  return c.cause.messageId.startsWith('latency-') ? c.cause.messageId : undefined;
}

const sortedOf = (values: number[]): Float64Array => Float64Array.from(values).sort();
export interface Dist {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}
export function dist(values: number[]): Dist {
  const s = sortedOf(values);
  return {
    n: s.length,
    p50: percentile(s, 50),
    p95: percentile(s, 95),
    p99: percentile(s, 99),
    max: s.at(-1) ?? NaN,
  };
}
export const showDist = (d: Dist, unit = 'ms', digits = 1): string =>
  `p50 ${fmt(d.p50, digits)} ${unit}, p95 ${fmt(d.p95, digits)} ${unit}, p99 ${fmt(d.p99, digits)} ${unit}, max ${fmt(d.max, digits)} ${unit}`;
export const round = (d: Dist, digits = 1) => ({
  p50: Number(d.p50.toFixed(digits)),
  p95: Number(d.p95.toFixed(digits)),
  p99: Number(d.p99.toFixed(digits)),
  max: Number(d.max.toFixed(digits)),
});
