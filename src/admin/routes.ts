import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { AdminServices } from '../app/services.ts';
import type { Config } from '../config/load.ts';
import type { Result } from '../shared/result.ts';
import { ok } from '../shared/result.ts';
import { adminAuth } from '../http/admin-auth.ts';
import { errorBody } from '../http/errors.ts';
import * as s from './schemas.ts';
import { actOnDeadLetters } from './dead-letters.ts';
import { audienceProfiles, overlapView, profilesCsv } from './members.ts';
import { audienceView, audiencesView, profileView, retryDeadLetters, syncView } from './service.ts';
import { markForRetry, quarantineView } from './quarantine.ts';

/** One admin endpoint, as data: the OpenAPI document and the server are both built from this table. */
export interface AdminRoute {
  method: 'GET' | 'POST';
  /** OpenAPI path template, e.g. `/api/admin/audiences/{key}`. */
  path: string;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  response: z.ZodType;
  /** With `?format=csv`, the response written as CSV instead of JSON. */
  csv?: (value: never) => string;
  /** Extra error statuses besides 400 and 401, with what they mean. */
  errors?: Record<number, string>;
  handle(
    services: AdminServices,
    input: { params: never; query: never; body: never },
  ): Promise<Result<unknown>>;
}

const route = <
  P extends z.ZodObject | undefined,
  Q extends z.ZodObject | undefined,
  B extends z.ZodType | undefined,
>(
  r: Omit<AdminRoute, 'handle' | 'params' | 'query' | 'body' | 'csv'> & {
    csv?: (value: never) => string;
    params?: P;
    query?: Q;
    body?: B;
    handle(
      services: AdminServices,
      input: {
        params: P extends z.ZodObject ? z.output<P> : undefined;
        query: Q extends z.ZodObject ? z.output<Q> : undefined;
        body: B extends z.ZodType ? z.output<B> : undefined;
      },
    ): Promise<Result<unknown>>;
  },
): AdminRoute => r;

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  route({
    method: 'GET',
    path: '/api/admin/audiences',
    summary: 'Every audience: size, size series, match rate, last sync, pending and dead letters',
    query: s.rangeQuery,
    response: s.audiencesResponse,
    handle: async (services, { query }) => ok(await audiencesView(services, query.range)),
  }),
  route({
    method: 'GET',
    path: '/api/admin/audiences/{key}',
    summary: 'One audience: size over time, enters and exits, sync latency, holdout, sample members',
    params: s.audienceParams,
    query: s.rangeQuery,
    response: s.audienceResponse,
    errors: { 404: 'no audience has this key' },
    handle: (services, { params, query }) => audienceView(services, params.key, query.range),
  }),
  route({
    method: 'GET',
    path: '/api/admin/audiences/{key}/profiles',
    summary:
      'The members behind a number: by where they stand at Cordial and/or also in another audience; `format=csv` downloads them',
    params: s.audienceParams,
    query: s.profilesQuery,
    response: s.profilesResponse,
    csv: profilesCsv,
    errors: { 404: 'no audience has this key (or the alsoIn key)' },
    handle: (services, { params, query }) => audienceProfiles(services, params.key, query),
  }),
  route({
    method: 'GET',
    path: '/api/admin/overlap',
    summary: 'Members shared by every pair of audiences',
    response: s.overlapResponse,
    handle: async (services) => ok(await overlapView(services)),
  }),
  route({
    method: 'GET',
    path: '/api/admin/profiles/{ref}',
    summary:
      'One profile: identifiers, merges, recent events, changes, and why it is in or out of each audience',
    params: s.profileParams,
    response: s.profileResponse,
    errors: { 404: 'no profile is known by this reference' },
    handle: (services, { params }) => profileView(services, params.ref),
  }),
  route({
    method: 'GET',
    path: '/api/admin/sync',
    summary: 'Cordial sync: queue per audience, sends per minute, 429s, dead letters',
    response: s.syncResponse,
    handle: async (services) => ok(await syncView(services)),
  }),
  route({
    method: 'GET',
    path: '/api/admin/cluster',
    summary: 'Which process runs each background job: the job leases with holder, epoch and expiry',
    response: s.clusterResponse,
    handle: async (services) =>
      // Leases lapse by the database's clock, not the app's (which tests set to virtual time).
      ok({ now: Date.now(), leases: await services.store.leases.list() }),
  }),
  route({
    method: 'POST',
    path: '/api/admin/sync/retry',
    summary: 'Queue dead letters again: every one, or one audience’s',
    body: s.retryBody,
    response: s.retryResponse,
    errors: { 404: 'no audience with this key syncs to Cordial' },
    handle: (services, { body }) => retryDeadLetters(services, body),
  }),
  route({
    method: 'POST',
    path: '/api/admin/sync/dead-letters/retry',
    summary: 'Queue chosen dead letters again (one, or a group of one reason)',
    body: s.deadLetterActionBody,
    response: s.retriedResponse,
    errors: { 404: 'none of the items is a dead letter (any more)' },
    handle: (services, { body }) => actOnDeadLetters(services, 'retry', body),
  }),
  route({
    method: 'POST',
    path: '/api/admin/sync/dead-letters/skip',
    summary: 'Resolve chosen dead letters without sending them; each skip is recorded in the sync log',
    body: s.deadLetterActionBody,
    response: s.skippedResponse,
    errors: { 404: 'none of the items is a dead letter (any more)' },
    handle: (services, { body }) => actOnDeadLetters(services, 'skip', body),
  }),
  route({
    method: 'GET',
    path: '/api/admin/quarantine',
    summary: 'Quarantined events: set aside because processing them failed every time, with the error',
    response: s.quarantineResponse,
    handle: async (services) => ok(await quarantineView(services.store)),
  }),
  route({
    method: 'POST',
    path: '/api/admin/quarantine/retry',
    summary: 'Process quarantined events again (after a fix): every one, or these offsets',
    body: s.quarantineRetryBody,
    response: s.quarantineRetryResponse,
    errors: { 404: 'an offset given is not quarantined (nothing is marked)' },
    handle: async (services, { body }) => {
      const marked = await markForRetry(services.store, body);
      if (marked.ok) services.pokeProcessor();
      return marked;
    },
  }),
];

const STATUS: Record<string, number> = { not_found: 404 };

const describeIssues = (where: string, error: z.ZodError): string =>
  error.issues
    .map((i) => `${where}${i.path.length > 0 ? `.${i.path.join('.')}` : ''}: ${i.message}`)
    .join('; ');

/** Registers the admin API: every route in ADMIN_ROUTES, behind the admin token. */
export function adminRoutes(
  server: FastifyInstance,
  parts: { admin: AdminServices; limits: Config['server'] },
): void {
  const services = parts.admin;
  const auth = adminAuth(parts.limits);
  for (const r of ADMIN_ROUTES) {
    server.route({
      method: r.method,
      url: r.path.replace(/\{(\w+)\}/g, ':$1'),
      preHandler: auth,
      handler: async (request, res) => {
        const input: Record<string, unknown> = {};
        for (const [part, schema, value] of [
          ['params', r.params, request.params],
          ['query', r.query, request.query],
          ['body', r.body, request.body],
        ] as const) {
          if (schema === undefined) continue;
          const parsed = schema.safeParse(value ?? (part === 'body' ? undefined : {}));
          if (!parsed.success)
            return res.code(400).send(errorBody('bad_request', describeIssues(part, parsed.error)));
          input[part] = parsed.data;
        }
        const result = await r.handle(services, input as never);
        if (!result.ok) {
          return res
            .code(STATUS[result.error.code] ?? 400)
            .send(errorBody(result.error.code, result.error.message));
        }
        if (r.csv && (input.query as { format?: string } | undefined)?.format === 'csv') {
          return res
            .code(200)
            .type('text/csv; charset=utf-8')
            .header('content-disposition', 'attachment; filename="profiles.csv"')
            .send(r.csv(result.value as never));
        }
        return res.code(200).send(result.value);
      },
    });
  }
}
