import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/load.ts';
import type { HandoffMetrics } from '../monitor/handoff-metrics.ts';
import { PROMETHEUS_CONTENT_TYPE } from '../monitor/metrics.ts';
import { adminAuth } from '../http/admin-auth.ts';

/**
 * GET /metrics in the Prometheus text format, behind the admin token sent as
 * `Authorization: Bearer <token>` (Prometheus' `authorization` / `bearer_token` settings).
 */
export function metricsRoute(
  server: FastifyInstance,
  parts: { metrics: HandoffMetrics; limits: Config['server'] },
): void {
  server.get('/metrics', { preHandler: adminAuth(parts.limits) }, async (_request, res) => {
    const text = await parts.metrics.render();
    return res.code(200).header('content-type', PROMETHEUS_CONTENT_TYPE).send(text);
  });
}
