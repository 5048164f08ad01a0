// Sends fuzzed requests to a running serve, several at a time, and sorts what came back: responses
// ≥ 500, requests that got no answer, valid requests refused, and the messages acknowledged.
import { Agent } from 'undici';
import type { FuzzRequest } from './request.ts';

export interface Outcome {
  request: FuzzRequest;
  /** HTTP status, or undefined when no response came (connection error, timeout). */
  status?: number;
  body: string;
  error?: string;
}

export interface RunTotals {
  requests: number;
  byStatus: Map<string, number>;
  /** Responses ≥ 500. */
  serverErrors: Outcome[];
  /** Requests that got no response. */
  unanswered: Outcome[];
  /** Requests over the 500 KB limit whose connection the server closed while they were sent. */
  closedEarly: Outcome[];
  /** Valid requests answered with anything but 2xx. */
  validRefused: Outcome[];
  /** Log key → how many times a request acknowledging it was answered. */
  acknowledged: Map<string, number>;
  /** Messages carried by tracked requests. */
  trackedMessages: number;
  /** The slowest requests, slowest first. */
  slowest: (Outcome & { ms: number })[];
}

/** The request limit: a server may answer and close before reading a body over it. */
const MAX_REQUEST_BYTES = 500 * 1024;

/** A body over the limit cut off by the server (an early answer and close), not a lost request. */
const refusedUpload = (o: Outcome): boolean =>
  (o.request.body?.length ?? 0) > MAX_REQUEST_BYTES &&
  /EPIPE|ECONNRESET|other side closed/.test(o.error ?? '');

/** The keys of the messages a response acknowledged (stored, or already stored). */
export function acknowledgedKeys(request: FuzzRequest, status: number, body: string): string[] {
  if (status >= 500) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const keys = request.tracked;
  if (request.path.startsWith('/v1/') && Array.isArray(record.rejected)) {
    // A batch with bad messages: the others are stored, and the response says which were not.
    const rejected = new Set((record.rejected as { index?: unknown }[]).map((r) => r.index));
    return keys.filter((k, i): k is string => k !== undefined && !rejected.has(i));
  }
  if (status !== 200 || record.ignored !== undefined) return [];
  return keys.filter((k): k is string => k !== undefined);
}

/** Sends every request, `concurrency` at a time, to `origin`. */
export async function sendAll(
  origin: string,
  requests: Iterable<FuzzRequest>,
  options: { concurrency: number; timeoutMs: number },
): Promise<RunTotals> {
  const agent = new Agent({
    connections: options.concurrency,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  const totals: RunTotals = {
    requests: 0,
    byStatus: new Map(),
    serverErrors: [],
    unanswered: [],
    closedEarly: [],
    validRefused: [],
    acknowledged: new Map(),
    trackedMessages: 0,
    slowest: [],
  };
  const iterator = requests[Symbol.iterator]();
  const one = async (request: FuzzRequest): Promise<Outcome> => {
    try {
      const res = await agent.request({
        origin,
        path: request.path,
        method: request.method,
        headers: request.headers,
        ...(request.body !== undefined ? { body: request.body } : {}),
      });
      return { request, status: res.statusCode, body: await res.body.text() };
    } catch (error) {
      return { request, body: '', error: (error as Error).message };
    }
  };
  const worker = async () => {
    for (let next = iterator.next(); !next.done; next = iterator.next()) {
      const started = performance.now();
      const outcome = await one(next.value);
      const ms = Math.round(performance.now() - started);
      totals.slowest.push({ ...outcome, ms });
      totals.slowest.sort((a, b) => b.ms - a.ms);
      totals.slowest.length = Math.min(totals.slowest.length, 10);
      const { request, status } = outcome;
      totals.requests++;
      totals.trackedMessages += request.tracked.filter((t) => t !== undefined).length;
      const bucket = status === undefined ? 'no response' : String(status);
      totals.byStatus.set(bucket, (totals.byStatus.get(bucket) ?? 0) + 1);
      if (status === undefined)
        (refusedUpload(outcome) ? totals.closedEarly : totals.unanswered).push(outcome);
      else if (status >= 500) totals.serverErrors.push(outcome);
      else if (request.valid && (status < 200 || status > 299)) totals.validRefused.push(outcome);
      if (status !== undefined) {
        for (const key of acknowledgedKeys(request, status, outcome.body))
          totals.acknowledged.set(key, (totals.acknowledged.get(key) ?? 0) + 1);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  } finally {
    await agent.close();
  }
  return totals;
}

/** One line for a failing request: route, status, body, the request's shape. */
export const describeOutcome = (o: Outcome): string =>
  `n=${o.request.n} ${o.request.method} ${o.request.path.slice(0, 80)} → ${o.status ?? `no response (${o.error})`} ${o.body.slice(0, 240).replaceAll('\n', ' ')} [shape: ${o.request.shape.slice(0, 400)}]`;
