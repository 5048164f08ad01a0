import type { FastifyInstance } from 'fastify';
import type { AdminServices } from '../app/services.ts';
import type { Config } from '../config/load.ts';
import { dashboardRoutes } from './dashboard.ts';
import { adminOpenApi, OPENAPI_PATH } from './openapi.ts';
import { adminRoutes } from './routes.ts';

/** The admin API under /api/admin (behind the admin token), its OpenAPI document, and the dashboard at `/`. */
export function adminSurface(
  server: FastifyInstance,
  parts: { admin: AdminServices; limits: Config['server'] },
): void {
  const document = adminOpenApi();
  server.get(OPENAPI_PATH, () => document);
  adminRoutes(server, parts);
  dashboardRoutes(server);
}
