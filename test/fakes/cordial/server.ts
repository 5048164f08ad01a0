import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reply } from './envelope.ts';
import { AUTH_FAILURE, RATE_LIMIT_EXCEEDED, errorReply, injectedErrorBody } from './envelope.ts';
import type { FaultDecision, Faults } from './faults.ts';
import { authorized, bodyForLog, parseBody, readText } from './http-body.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { RecordedRequest, RequestLog } from './request-log.ts';
import type { RouteState } from './routes.ts';
import { route } from './routes.ts';

/** What the request pipeline needs; the composition root in index.ts supplies it. */
export interface PipelineDeps {
  apiKeys: ReadonlySet<string>;
  now: () => number;
  faults: Faults;
  limiter: () => RateLimiter | undefined;
  state: RouteState;
  log: RequestLog;
  /** Handles `/__fake/*` (no auth, no faults, not recorded). */
  inspect: (req: IncomingMessage, res: ServerResponse, path: string, body: string) => void;
  sleep: (ms: number) => Promise<void>;
}

export function send(res: ServerResponse, reply: Reply, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'Content-Type': 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    ...headers,
    ...reply.headers,
  });
  res.end(text);
}

function injected(decision: Extract<FaultDecision, { kind: 'respond' }>): Reply {
  const { status, body, headers } = decision.response;
  // An injected 429 must still look like one: a Retry-After and the rate headers.
  const defaults: Record<string, string> =
    status === 429
      ? {
          'Retry-After': '1',
          'X-Rate-Limit-Limit': '0',
          'X-Rate-Limit-Remaining': '0',
          'X-Rate-Limit-Reset': '1',
        }
      : {};
  return { status, body: body ?? injectedErrorBody(status), headers: { ...defaults, ...headers } };
}

/** Reads Retry-After back from a 429's headers, whichever part of the fake produced it. */
function retryAfter(headers: Record<string, string>): number | undefined {
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === 'retry-after');
  const seconds = entry ? Number(entry[1]) : NaN;
  return Number.isFinite(seconds) ? seconds : undefined;
}

/** Auth, rate limit, body, route: what a healthy Cordial does with a /v2 request. */
function handle(req: IncomingMessage, text: string, url: URL, deps: PipelineDeps): Reply {
  if (!authorized(req.headers.authorization, deps.apiKeys)) return AUTH_FAILURE;
  const rate = deps.limiter()?.take(deps.now());
  const rateHeaders = rate?.headers ?? {};
  if (rate && !rate.allowed) return errorReply(RATE_LIMIT_EXCEEDED, rateHeaders);
  const body = parseBody(text, req.headers['content-type']);
  if (!body.ok) return errorReply(body.error, rateHeaders);
  const segments = url.pathname.split('/').slice(2);
  const reply = route(
    { method: req.method ?? 'GET', segments, query: url.searchParams, body: body.value },
    deps.state,
  );
  return { ...reply, headers: { ...rateHeaders, ...reply.headers } };
}

/** The node:http request listener. */
export function listener(deps: PipelineDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    void serve(req, res, deps).catch((error: unknown) => {
      send(res, {
        status: 500,
        body: { error: true, errorKey: 'GENERIC_ERROR_KEY', message: String(error) },
      });
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
  const base: Omit<RecordedRequest, 'seq' | 'status' | 'respondedAt' | 'rateLimited'> = {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.search.slice(1),
    headers: Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]),
    ),
    body: bodyForLog(text),
    at,
  };
  const decision = deps.faults.decide();
  if (decision.latencyMs > 0) await deps.sleep(decision.latencyMs);
  if (res.destroyed) return;

  if (decision.kind === 'reset') {
    deps.log.add({ ...base, status: null, respondedAt: deps.now(), rateLimited: false, fault: 'reset' });
    req.socket.destroy();
    return;
  }
  const reply = decision.kind === 'respond' ? injected(decision) : handle(req, text, url, deps);
  const respondedAt = deps.now();
  if (decision.kind === 'reset-after-apply') {
    deps.log.add({ ...base, status: null, respondedAt, rateLimited: false, fault: 'reset-after-apply' });
    req.socket.destroy();
    return;
  }
  const seconds = reply.status === 429 ? retryAfter(reply.headers ?? {}) : undefined;
  deps.log.add({
    ...base,
    status: reply.status,
    respondedAt,
    rateLimited: reply.status === 429,
    ...(seconds !== undefined ? { retryAfterSeconds: seconds, retryAt: respondedAt + seconds * 1000 } : {}),
    ...(decision.kind === 'respond' ? { fault: decision.source } : {}),
  });
  send(res, reply);
}
