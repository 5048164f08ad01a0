// A client for the part of Customer.io's App API that sourced audiences read: a segment's
// membership, page by page, and its member count. It paces itself under the App API's
// 10 requests/s, waits out 429s (Retry-After when given), retries 5xx and network errors with
// backoff, and reports a pass that failed or ended early instead of returning a partial list.
import { request } from 'undici';
import type { Result } from '../../shared/result.ts';
import { fail, ok } from '../../shared/result.ts';
import { SlidingWindowPacer } from './pacer.ts';
import { isRecord } from '../../shared/is-record.ts';

/** One person in a segment, by whichever identifiers the workspace has for them. */
export interface SegmentMember {
  id?: string;
  email?: string;
  cio_id?: string;
}

/** A complete membership list, read in one pass. */
export interface SegmentSnapshot {
  members: SegmentMember[];
  pages: number;
}

export interface AppApiOptions {
  baseUrl: string;
  apiKey: string;
  requestsPerSecond: number;
  pageSize: number;
  /** Attempts per request before the pass fails (429s included). Default 6. */
  attempts?: number;
  /** Per-request timeout. Default 30 s. */
  timeoutMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

type Reply = { status: number; body: unknown; retryAfterMs: number | undefined };

const text = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined;

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.ceil(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The members a page lists: `identifiers` when present, else the bare `ids`. */
export function pageMembers(body: Record<string, unknown>): SegmentMember[] {
  if (Array.isArray(body.identifiers)) {
    return body.identifiers.filter(isRecord).map((i) => {
      const member: SegmentMember = {};
      const id = text(i.id);
      const email = text(i.email);
      const cio = text(i.cio_id);
      if (id !== undefined) member.id = id;
      if (email !== undefined) member.email = email;
      if (cio !== undefined) member.cio_id = cio;
      return member;
    });
  }
  if (Array.isArray(body.ids))
    return body.ids.flatMap((v) => (text(v) === undefined ? [] : [{ id: text(v)! }]));
  return [];
}

/** Slack added to each pacing window for uneven network delay (ms). */
const ARRIVAL_MARGIN_MS = 100;

export class AppApiClient {
  private readonly attempts: number;
  private readonly now: () => number;
  private readonly pacer: SlidingWindowPacer;

  constructor(private readonly options: AppApiOptions) {
    this.attempts = options.attempts ?? 6;
    this.now = options.now ?? Date.now;
    const sleep = options.sleep ?? ((ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    // A fractional rate under 1/s is one request per longer window; above, whole requests a second.
    // The window is kept a little longer than the limit's: requests reach the API with uneven
    // network delay, so sends exactly a second apart can land inside one of its seconds.
    const rate = options.requestsPerSecond;
    this.pacer =
      rate >= 1
        ? new SlidingWindowPacer(Math.floor(rate), { now: this.now, sleep }, 1000 + ARRIVAL_MARGIN_MS)
        : new SlidingWindowPacer(1, { now: this.now, sleep }, Math.ceil(1000 / rate) + ARRIVAL_MARGIN_MS);
  }

  /** Every member of a segment, or why a complete list could not be read. */
  async membership(segmentId: number): Promise<Result<SegmentSnapshot>> {
    const before = await this.count(segmentId);
    if (!before.ok) return before;
    const members: SegmentMember[] = [];
    const seen = new Set<string>();
    let start: string | undefined;
    let pages = 0;
    do {
      const query = new URLSearchParams({ limit: String(this.options.pageSize) });
      if (start !== undefined) query.set('start', start);
      const reply = await this.get(`/segments/${segmentId}/membership?${query.toString()}`);
      if (!reply.ok) return fail({ ...reply.error, message: `${reply.error.message} (page ${pages + 1})` });
      if (!isRecord(reply.value))
        return fail({
          code: 'bad_page',
          message: `page ${pages + 1} of segment ${segmentId} is not an object`,
        });
      pages++;
      for (const m of pageMembers(reply.value)) {
        const key = m.cio_id ?? m.id ?? m.email;
        if (key === undefined || seen.has(key)) continue;
        seen.add(key);
        members.push(m);
      }
      start = text(reply.value.next);
    } while (start !== undefined);
    // A pass that ends early looks like a short last page: the count tells the two apart.
    if (before.value !== undefined && members.length < before.value) {
      const after = await this.count(segmentId);
      if (!after.ok) return after;
      if (after.value !== undefined && members.length < Math.min(before.value, after.value)) {
        return fail({
          code: 'incomplete',
          message: `the membership pages ended early: ${members.length} of ${Math.min(before.value, after.value)} members`,
        });
      }
    }
    return ok({ members, pages });
  }

  /** The segment's member count; undefined when the answer has no count in it. */
  private async count(segmentId: number): Promise<Result<number | undefined>> {
    const reply = await this.get(`/segments/${segmentId}/customer_count`);
    if (!reply.ok) return reply;
    const count = isRecord(reply.value) ? reply.value.count : undefined;
    return ok(typeof count === 'number' && Number.isInteger(count) && count >= 0 ? count : undefined);
  }

  private async get(path: string): Promise<Result<unknown>> {
    let lastError = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      await this.pacer.take();
      const reply = await this.send(path);
      if (reply.status >= 200 && reply.status < 300) return ok(reply.body);
      const backoff = Math.min(30_000, 500 * 2 ** (attempt - 1));
      if (reply.status === 429) {
        lastError = 'rate limited (429)';
        // Nothing goes out until the wait is over, for this audience or any other.
        this.pacer.pause(reply.retryAfterMs ?? backoff);
        continue;
      }
      if (reply.status === 0 || reply.status >= 500) {
        lastError = reply.status === 0 ? String(reply.body) : `status ${reply.status}`;
        this.pacer.pause(backoff);
        continue;
      }
      return fail({ code: `http_${reply.status}`, message: describeFailure(path, reply) });
    }
    return fail({
      code: 'unavailable',
      message: `GET ${path} failed ${this.attempts} times; last: ${lastError}`,
    });
  }

  private async send(path: string): Promise<Reply> {
    try {
      const res = await request(`${this.options.baseUrl}${path}`, {
        method: 'GET',
        headers: { authorization: `Bearer ${this.options.apiKey}`, accept: 'application/json' },
        headersTimeout: this.options.timeoutMs ?? 30_000,
        bodyTimeout: this.options.timeoutMs ?? 30_000,
      });
      const raw = await res.body.text();
      let body: unknown = raw;
      try {
        body = raw === '' ? undefined : JSON.parse(raw);
      } catch {
        // Keep the text: it goes into the error message.
      }
      return {
        status: res.statusCode,
        body,
        retryAfterMs: retryAfterMs(res.headers['retry-after'], this.now()),
      };
    } catch (error) {
      return { status: 0, body: (error as Error).message, retryAfterMs: undefined };
    }
  }
}

function describeFailure(path: string, reply: Reply): string {
  const meta = isRecord(reply.body) && isRecord(reply.body.meta) ? reply.body.meta : undefined;
  const detail = meta
    ? Array.isArray(meta.errors)
      ? meta.errors.map(String).join('; ')
      : typeof meta.error === 'string'
        ? meta.error
        : ''
    : typeof reply.body === 'string'
      ? reply.body.slice(0, 200)
      : '';
  const hint =
    reply.status === 401 || reply.status === 403
      ? ': check customerio.appApiKey (an App API key, sent as Bearer)'
      : reply.status === 404
        ? ': check the segment id and customerio.region'
        : '';
  return `GET ${path} answered ${reply.status}${detail ? ` (${detail})` : ''}${hint}`;
}
