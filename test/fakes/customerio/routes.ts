import { decodeCursor, encodeCursor } from './cursor.ts';
import type { Reply } from './envelope.ts';
import { errorReply } from './envelope.ts';
import type { Faults } from './faults.ts';
import type { Member } from './people.ts';
import type { SegmentStore } from './segment-store.ts';

/** The documented maximum page size of `GET /segments/{id}/membership`. */
export const MAX_MEMBERSHIP_LIMIT = 30_000;

/** How membership pages are shaped; fixed when the fake starts. */
export interface MembershipOptions {
  /** `next` on the last page: `''` (default) or left out. Live behaviour unverified (notes §D.7). */
  lastPageNext: '' | 'omit';
  /** Page size when `limit` is absent. Default 1000 (generated App API client docs [M]). */
  defaultLimit: number;
  /** Whether email is a workspace identifier; when not, `identifiers` carry no `email`. */
  emailIdentifier: boolean;
}

export interface RouteState {
  segments: SegmentStore;
  faults: Faults;
  membership: MembershipOptions;
  /** Hands out pagination chain numbers. */
  nextChain: () => number;
}

/** One parsed /v1 request. */
export interface RouteRequest {
  method: string;
  /** Path segments after `/v1`, still URL-encoded. */
  segments: string[];
  query: URLSearchParams;
}

const notFound = (what: string): Reply => errorReply({ status: 404, message: `${what} not found` });

function segmentId(raw: string): number | undefined {
  return /^[1-9]\d{0,9}$/.test(raw) ? Number(raw) : undefined;
}

function parseLimit(raw: string | null, fallback: number): number | string {
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    return `limit must be a positive integer, got ${JSON.stringify(raw)}`;
  const limit = Number(raw);
  return limit > MAX_MEMBERSHIP_LIMIT ? `limit must be at most ${MAX_MEMBERSHIP_LIMIT}, got ${limit}` : limit;
}

/** `GET /v1/segments/{id}/membership?limit=&start=`: a page of members in cio_id order. */
function membership(req: RouteRequest, s: RouteState, id: number): Reply {
  if (!s.segments.view(id)) return notFound(`segment ${id}`);
  const limit = parseLimit(req.query.get('limit'), s.membership.defaultLimit);
  if (typeof limit === 'string') return errorReply({ status: 400, message: limit });
  const start = req.query.get('start') ?? '';
  const cursor = start === '' ? undefined : decodeCursor(start, id);
  if (cursor && !cursor.ok) return errorReply(cursor.error);
  const chain = cursor?.value.chain ?? s.nextChain();
  const page = cursor?.value.page ?? 1;
  const note = { segmentId: id, chain, page, returned: 0 };
  // No `next` token means the last page: `next: ""`, or no `next` at all (lastPageNext).
  const pageBody = (members: Member[], next?: string) => ({
    identifiers: members.map((m) => identifiers(m, s.membership.emailIdentifier)),
    ids: members.map((m) => m.id ?? ''),
    ...(next !== undefined ? { next } : s.membership.lastPageNext === '' ? { next: '' } : {}),
  });

  const fault = s.faults.page(chain, page);
  if (fault === 'fail') {
    const reply = errorReply({ status: 500, message: 'internal server error' });
    return { ...reply, page: { ...note, fault: 'failAfterPages' } };
  }
  if (fault === 'truncate-404') {
    const reply = errorReply({ status: 404, message: 'start token not found' });
    return { ...reply, page: { ...note, fault: 'truncateAfterPages' } };
  }
  if (fault === 'truncate-empty')
    return { status: 200, body: pageBody([]), page: { ...note, fault: 'truncateAfterPages' } };

  const result = s.segments.page(id, cursor?.value.after, limit);
  if (!result) return notFound(`segment ${id}`);
  const { members, more } = result;
  const last = members.at(-1);
  const next =
    more && last ? encodeCursor({ segmentId: id, after: last.cio_id, chain, page: page + 1 }) : undefined;
  return { status: 200, body: pageBody(members, next), page: { ...note, returned: members.length } };
}

/**
 * A member as `identifiers` lists them: `id`, `email` (only when email is a workspace identifier)
 * and `cio_id`. A missing value is null, as in Customer.io's identifiers objects (OpenAPI:
 * "nullable") [U for this endpoint]; the `ids` array uses `""` instead (docs).
 */
function identifiers(m: Member, withEmail: boolean) {
  return withEmail
    ? { id: m.id ?? null, email: m.email ?? null, cio_id: m.cio_id }
    : { id: m.id ?? null, cio_id: m.cio_id };
}

type Handler = (req: RouteRequest, state: RouteState, id: number) => Reply;

/** `GET /v1/segments/{id}/<key>`; the empty key is the segment itself. */
const SEGMENT_ROUTES = new Map<string, Handler>([
  [
    '',
    (_req, s, id) => {
      const segment = s.segments.view(id);
      return segment ? { status: 200, body: { segment } } : notFound(`segment ${id}`);
    },
  ],
  ['membership', membership],
  // [M]: cio-node's tests call it; the body `{ count }` is the fake's guess.
  [
    'customer_count',
    (_req, s, id) => {
      const count = s.segments.count(id);
      return count === undefined ? notFound(`segment ${id}`) : { status: 200, body: { count } };
    },
  ],
]);

/** Dispatches a /v1 request; anything unrouted is a 404. */
export function route(req: RouteRequest, state: RouteState): Reply {
  const [head, rawId, sub, ...rest] = req.segments;
  if (req.method === 'GET' && head === 'segments' && rest.length === 0) {
    if (rawId === undefined) return { status: 200, body: { segments: state.segments.list() } };
    const handler = sub === '' ? undefined : SEGMENT_ROUTES.get(sub ?? '');
    const id = segmentId(rawId);
    if (handler) {
      return id === undefined ? notFound(`segment ${rawId}`) : handler(req, state, id);
    }
  }
  return notFound(`route ${req.method} /v1/${req.segments.join('/')} (the fake serves only segment reads)`);
}
