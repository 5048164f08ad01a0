import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** How long a browser may reuse a preflight's answer (seconds); browsers cap it lower (Chrome: 2h). */
export const PREFLIGHT_MAX_AGE_SECONDS = 86_400;

/**
 * CORS for the ingest routes of `scope`, so browser clients can send JSON to them: preflights
 * (`OPTIONS`) get a 204, and every response (errors too, so a page can read why it was refused)
 * carries `Access-Control-Allow-Origin` for an allowed origin. `origins` is `['*']` for any,
 * a list of origins, or empty for none (no headers, no preflight route). Only ever registered on
 * the ingest scope: the admin API and the dashboard stay same-origin.
 */
export function ingestCors(
  scope: FastifyInstance,
  origins: readonly string[],
  paths: readonly string[],
): void {
  if (origins.length === 0) return;
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const allowOrigin = (request: FastifyRequest, res: FastifyReply): boolean => {
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    if (any) {
      void res.header('access-control-allow-origin', '*');
      return true;
    }
    // The answer depends on the Origin header, so caches must keep one copy per origin.
    void res.header('vary', 'Origin');
    if (!allowed.has(origin)) return false;
    void res.header('access-control-allow-origin', origin);
    return true;
  };
  scope.addHook('onSend', async (request, res) => {
    if (request.method !== 'OPTIONS') allowOrigin(request, res);
  });
  const preflight = async (request: FastifyRequest, res: FastifyReply) => {
    // A disallowed origin gets no CORS headers: its browser then refuses to send.
    if (allowOrigin(request, res))
      void res
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'Content-Type, Authorization')
        .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
    return res.code(204).send();
  };
  for (const path of paths) scope.options(path, preflight);
}
