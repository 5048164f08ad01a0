import type { FastifyInstance } from 'fastify';
import type { App } from '../app/app.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../monitor/metrics.ts';
import { adminAuth } from '../http/admin-auth.ts';

/**
 * GET /metrics in the Prometheus text format, behind the admin token sent as
 * `Authorization: Bearer <token>` (Prometheus' `authorization` / `bearer_token` settings).
 */
export function metricsRoute(server: FastifyInstance, app: App): void {
  server.get('/metrics', { preHandler: adminAuth(app) }, async (_request, res) => {
    const text = await app.monitor.metrics.render();
    return res.code(200).header('content-type', PROMETHEUS_CONTENT_TYPE).send(text);
  });
}
