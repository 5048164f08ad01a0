import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../store/failures.ts';
import { storeUnavailableReason } from '../store/failures.ts';
import { STORE_RETRY_AFTER_S, errorBody } from '../http/errors.ts';

/** How long a failed write keeps /readyz at 503 when the probe itself passes. */
export const WRITE_FAILURE_MEMORY_MS = 30_000;

export interface HealthOptions {
  /** The store's own probe. */
  probe: () => Promise<Readiness>;
  /** Milliseconds since the epoch. */
  now: () => number;
}

const WRITES = /^\/(v1|api\/v1|hooks)\//;

/**
 * `GET /healthz` is liveness: the process answers. `GET /readyz` is readiness: 200 when the store
 * takes writes, else 503 with the reason. A probe cannot see everything (a disk that fills as a
 * commit writes), so a request that failed on the store keeps readiness at 503 until a write
 * succeeds or 30 s pass.
 */
export function healthRoutes(server: FastifyInstance, options: HealthOptions): void {
  let lastFailure: { reason: string; at: number } | undefined;
  server.addHook('onError', async (_request, _res, error) => {
    const reason = storeUnavailableReason(error);
    if (reason !== undefined) lastFailure = { reason, at: options.now() };
  });
  server.addHook('onResponse', async (request, res) => {
    if (lastFailure && res.statusCode === 200 && request.method !== 'GET' && WRITES.test(request.url))
      lastFailure = undefined;
  });

  server.get('/healthz', () => ({ ok: true }));
  server.get('/readyz', async (_request, res) => {
    const probe = await options.probe();
    const recent =
      lastFailure && options.now() - lastFailure.at < WRITE_FAILURE_MEMORY_MS ? lastFailure : undefined;
    const reason = probe.ok
      ? recent && `${recent.reason} (a write failed at ${new Date(recent.at).toISOString()})`
      : probe.reason;
    if (reason === undefined) return { ok: true };
    return res
      .code(503)
      .header('retry-after', String(STORE_RETRY_AFTER_S))
      .send(errorBody('store_unavailable', reason));
  });
}
