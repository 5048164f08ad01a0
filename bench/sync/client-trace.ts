// ---------------------------------------------------------------------------------------------
// Client-side request timing, from undici's diagnostics channels (Handoff's CordialClient uses undici).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { RecordedRequest } from '../../test/fakes/cordial/index.ts';
import { fmt, wall } from '../lib.ts';

export interface ClientTrace {
  /**
   * Request headers written to the socket (wall ms), and when the request was created: right
   * after CordialDestination passed the rate gate, in the same synchronous step.
   */
  sent: { t: number; created: number; method: string; path: string }[];
  /** 429 response headers received: wall ms, method, path, Retry-After seconds. */
  limited: { t: number; method: string; path: string; retryAfter: number | undefined }[];
  stop(): void;
}

interface UndiciRequestLike {
  origin?: unknown;
  method?: string;
  path?: string;
}

export function traceClient(origin: string): ClientTrace {
  const trace: ClientTrace = { sent: [], limited: [], stop: () => {} };
  const ours = (r: UndiciRequestLike | undefined): r is UndiciRequestLike =>
    r !== undefined && String(r.origin).replace(/\/+$/, '') === origin;
  const created = new WeakMap<object, number>();
  const onCreate = (message: unknown): void => {
    const { request } = message as { request?: UndiciRequestLike };
    if (ours(request)) created.set(request, wall());
  };
  const onSend = (message: unknown): void => {
    const t = wall();
    const { request } = message as { request?: UndiciRequestLike };
    if (ours(request))
      trace.sent.push({
        t,
        created: created.get(request) ?? t,
        method: request.method ?? '',
        path: (request.path ?? '').split('?')[0]!,
      });
  };
  const onHeaders = (message: unknown): void => {
    const t = wall();
    const { request, response } = message as {
      request?: UndiciRequestLike;
      response?: { statusCode?: number; headers?: (Buffer | string)[] };
    };
    if (!ours(request) || response?.statusCode !== 429) return;
    let retryAfter: number | undefined;
    const raw = response.headers ?? [];
    for (let i = 0; i + 1 < raw.length; i += 2)
      if (String(raw[i]).toLowerCase() === 'retry-after') retryAfter = Number(String(raw[i + 1]));
    trace.limited.push({
      t,
      method: request.method ?? '',
      path: (request.path ?? '').split('?')[0]!,
      retryAfter,
    });
  };
  subscribe('undici:request:create', onCreate);
  subscribe('undici:client:sendHeaders', onSend);
  subscribe('undici:request:headers', onHeaders);
  trace.stop = () => {
    unsubscribe('undici:request:create', onCreate);
    unsubscribe('undici:client:sendHeaders', onSend);
    unsubscribe('undici:request:headers', onHeaders);
  };
  return trace;
}

/**
 * Requests whose headers Handoff wrote after it had received a 429 and before that 429's
 * Retry-After instant (the fake's: its respondedAt + Retry-After, matched per method and path in
 * order; the client's receipt + Retry-After when unmatched).
 */
export function clientViolations(
  trace: ClientTrace,
  handled: readonly number[],
  log: readonly RecordedRequest[],
): { afterReceipt: number; afterHandled: number; examples: string[] } {
  const fakeWaits = new Map<string, RecordedRequest[]>();
  for (const r of log)
    if (r.retryAt !== undefined) {
      const key = `${r.method} ${r.path}`;
      fakeWaits.set(key, [...(fakeWaits.get(key) ?? []), r]);
    }
  // Each 429 as Handoff saw it: its headers' arrival, the moment the destination returned it to
  // the worker (which pauses the limiter right then), and the fake's Retry-After instant.
  const pending = [...handled].sort((a, b) => a - b);
  const waits = trace.limited
    .sort((a, b) => a.t - b.t)
    .map((l) => {
      const match = fakeWaits.get(`${l.method} ${l.path}`)?.shift();
      const until = match?.retryAt ?? l.t + (l.retryAfter ?? 1) * 1000;
      const at = pending.findIndex((h) => h >= l.t);
      const handledAt = at === -1 ? Infinity : pending.splice(at, 1)[0]!;
      return { from: l.t, handledAt, until, what: `${l.method} ${l.path}` };
    });
  let afterReceipt = 0;
  let afterHandled = 0;
  const examples: string[] = [];
  for (const s of trace.sent) {
    const w = waits.find((w) => s.t > w.from && s.t < w.until);
    if (!w) continue;
    afterReceipt++;
    // Decided to send (the gate passed) only after Handoff had the 429 in hand.
    if (s.created > w.handledAt) afterHandled++;
    if (examples.length < 3)
      examples.push(
        `${s.method} ${s.path} written ${fmt(s.t - w.from, 1)} ms after the 429 of ${w.what} arrived and ${fmt(w.until - s.t)} ms before its Retry-After; it passed the rate gate ${s.created > w.handledAt ? `${fmt(s.created - w.handledAt, 1)} ms after` : `${fmt(w.handledAt - s.created, 1)} ms before`} Handoff handled the 429`,
      );
  }
  return { afterReceipt, afterHandled, examples };
}
