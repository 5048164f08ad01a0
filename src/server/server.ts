import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ServerServices } from '../app/services.ts';
import { MAX_REQUEST_BYTES } from '../ingest/messages.ts';
import type { ParsePool, ParsePoolOptions } from '../ingest/parse-pool.ts';
import { mapRequestError } from '../http/errors.ts';
import { customerioRoutes } from './customerio-routes.ts';
import { healthRoutes } from './health-routes.ts';
import { hookRoutes } from './hook-routes.ts';
import { bulkFileRoute } from './bulk-file-route.ts';
import { ingestRoutes } from './ingest-routes.ts';
import { metricsRoute } from './metrics-route.ts';
import { adminSurface } from '../admin/index.ts';

export interface ServerOptions {
  /** A pino logger (already redacting secrets); none in tests. */
  logger?: FastifyBaseLogger;
  /** Serve HTTPS with this PEM key and certificate (Customer.io's v4 Node client speaks only https). */
  https?: { key: string | Buffer; cert: string | Buffer };
  /**
   * Where ingest request bodies are parsed and checked: pool options or a pool (closed with the
   * server). Default: worker threads for bodies of 16 KB and up.
   */
  ingestParse?: ParsePoolOptions | ParsePool;
  /** Serve the ingest routes (Segment, Customer.io Track and webhooks); default true. */
  ingest?: boolean;
}

/**
 * The HTTP face of Handoff's services: Segment ingest under /v1, Customer.io Track under /api/v1, liveness at
 * /healthz, readiness at /readyz, the admin API under /api/admin and the dashboard at /.
 */
export function buildServer(services: ServerServices, options: ServerOptions = {}): FastifyInstance {
  const { limits } = services;
  // Node checks the header and request timeouts only this often (30 s by default).
  const checking = { connectionsCheckingInterval: 1_000, headersTimeout: limits.headersTimeoutMs };
  const server = Fastify({
    bodyLimit: MAX_REQUEST_BYTES,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: checking,
    // Customer.io identifiers sit in the path: emails up to 254 characters, URL-encoded.
    routerOptions: { maxParamLength: 1024 },
    // Per-request lines would dominate the log at ingest rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    ...(options.https ? { https: { ...options.https, ...checking } } : {}),
  });
  server.server.maxConnections = limits.maxConnections;
  // Browsers sending with sendBeacon use text/plain; the body is still JSON.
  server.addContentTypeParser(
    'text/plain',
    { parseAs: 'string' },
    server.getDefaultJsonParser('error', 'error'),
  );
  // Browsers must not guess a type: a JSON error echoing input is never run as a script or page.
  server.addHook('onRequest', async (_request, res) => {
    void res.header('x-content-type-options', 'nosniff');
  });
  server.setErrorHandler((error, request, res) => {
    const mapped = mapRequestError(
      error as { code?: string; statusCode?: number; message: string },
      request.headers['content-length'],
    );
    if (mapped.status >= 500) request.log.error({ err: error }, 'request failed');
    return res.code(mapped.status).headers(mapped.headers).send(mapped.body);
  });
  server.setNotFoundHandler((request, res) =>
    res.code(404).send({
      success: false,
      error: { code: 'not_found', message: `no route ${request.method} ${request.url}` },
    }),
  );
  healthRoutes(server, { probe: () => services.readiness(), now: () => services.clock.now() });
  if (options.ingest !== false) {
    ingestRoutes(server, services.ingest, options.ingestParse);
    customerioRoutes(server, services.ingest);
    hookRoutes(server, services.hooks);
  }
  bulkFileRoute(server, services.bulkFiles);
  metricsRoute(server, { metrics: services.metrics, limits });
  adminSurface(server, { admin: services.admin, limits });
  return server;
}
