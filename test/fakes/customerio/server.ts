import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from './envelope.ts';
import { UNAUTHORIZED, errorReply, injectedError, rateLimited } from './envelope.ts';
import type { Faults } from './faults.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { RecordedRequest, RequestLog } from './request-log.ts';
import type { RouteState } from './routes.ts';
import { route } from './routes.ts';

/** What the request pipeline needs; the composition root in index.ts supplies it. */
export interface PipelineDeps {
  appApiKeys: ReadonlySet<string>;
  now: () => number;
  faults: Faults;
  limiter: () => RateLimiter | undefined;
  state: RouteState;
  log: RequestLog;
  /** Handles `/__fake/*` (no auth, no faults, not recorded). */
  inspect: (req: IncomingMessage, res: ServerResponse, path: string, body: string) => void;
  sleep: (ms: number) => Promise<void>;
}

export function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...reply.headers,
  });
  res.end(text);
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** True for `Authorization: Bearer <accepted key>`. */
function authorized(header: string | undefined, keys: ReadonlySet<string>): boolean {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return m?.[1] !== undefined && keys.has(m[1]);
}

const tooMany = (perSecond: number, seconds: number): Reply =>
  errorReply(rateLimited(perSecond), { 'Retry-After': String(seconds) });

/** Auth, rate limit, route: what a healthy App API does with a /v1 request. */
function handle(req: IncomingMessage, url: URL, deps: PipelineDeps): Reply {
  if (!authorized(req.headers.authorization, deps.appApiKeys)) return errorReply(UNAUTHORIZED);
  const limiter = deps.limiter();
  const rate = limiter?.take(deps.now());
  if (limiter && rate && !rate.allowed) return tooMany(limiter.config.perSecond, rate.retryAfterSeconds ?? 1);
  return route(
    { method: req.method ?? 'GET', segments: url.pathname.split('/').slice(2), query: url.searchParams },
    deps.state,
  );
}

/** The node:http request listener. */
export function listener(deps: PipelineDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void serve(req, res, deps).catch((error: unknown) => {
      send(res, { status: 500, body: { meta: { error: String(error) } } });
    });
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, deps: PipelineDeps): Promise<void> {
  const at = deps.now();
  const url = new URL(req.url ?? '/', 'http://fake.invalid');
  const text = await readText(req);
  if (url.pathname.startsWith('/__fake/')) {
    deps.inspect(req, res, url.pathname, text);
    return;
  }
  const base = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    ),
    at,
  };
  // Network faults stand for proxies and load balancers in front of Customer.io: before auth.
  const decision = deps.faults.decide();
  if (decision.latencyMs > 0) await deps.sleep(decision.latencyMs);
  if (res.destroyed) return;
  if (decision.kind === 'reset') {
    deps.log.add({ ...base, status: null, respondedAt: deps.now(), rateLimited: false, fault: 'reset' });
    req.socket.destroy();
    return;
  }
  const perSecond = deps.limiter()?.config.perSecond ?? 10;
  const reply =
    decision.kind === 'status'
      ? errorReply(
          injectedError(decision.status, perSecond),
          decision.status === 429 ? { 'Retry-After': '1' } : undefined,
        )
      : handle(req, url, deps);
  const respondedAt = deps.now();
  const seconds = reply.status === 429 ? Number(reply.headers?.['Retry-After']) : NaN;
  const entry: Omit<RecordedRequest, 'seq'> = {
    ...base,
    status: reply.status,
    respondedAt,
    rateLimited: reply.status === 429,
    ...(Number.isFinite(seconds)
      ? { retryAfterSeconds: seconds, retryAt: respondedAt + seconds * 1000 }
      : {}),
    ...(reply.page ? { page: reply.page } : {}),
  };
  const fault = decision.kind === 'status' ? 'status' : reply.page?.fault;
  deps.log.add(fault ? { ...entry, fault } : entry);
  send(res, reply);
}
