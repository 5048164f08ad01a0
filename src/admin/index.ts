import type { FastifyInstance } from 'fastify';
import type { App } from '../app/app.ts';
import { dashboardRoutes } from './dashboard.ts';
import { adminOpenApi, OPENAPI_PATH } from './openapi.ts';
import { adminRoutes } from './routes.ts';

/** The admin API under /api/admin (behind the admin token), its OpenAPI document, and the dashboard at `/`. */
export function adminSurface(server: FastifyInstance, app: App): void {
  const document = adminOpenApi();
  server.get(OPENAPI_PATH, () => document);
  adminRoutes(server, app);
  dashboardRoutes(server);
}
