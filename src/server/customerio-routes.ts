import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IngestApi } from '../app/services.ts';
import type { NewMessageId, SegmentMessage } from '../ingest/customerio.ts';
import { anonymousEventMessage, deleteMessage, eventMessage, identifyMessage } from '../ingest/customerio.ts';
import { MAX_MESSAGE_BYTES } from '../ingest/messages.ts';
import { shapeProblem } from '../ingest/nesting.ts';
import type { Problem, Result } from '../shared/result.ts';
import { mapRequestError } from '../http/errors.ts';

/** Customer.io's 400 body (its OpenAPI): `{ "meta": { "errors": [reason, …] } }`. */
export const cioErrors = (...errors: string[]) => ({ meta: { errors } });
/** Customer.io's single-reason body, used for 401 and 404; its client shows `meta.error`. */
export const cioError = (error: string) => ({ meta: { error } });

/** HTTP Basic `site_id:api_key`; the key may itself contain colons. */
function credentials(request: FastifyRequest): { siteId: string; apiKey: string } | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { siteId: decoded.slice(0, colon), apiKey: decoded.slice(colon + 1) };
}

export interface CustomerioRouteOptions {
  /** Message ids for calls without a dedupe `id`; default `cio-<uuid>`. */
  newMessageId?: NewMessageId;
}

type WithIdentifier = { Params: { identifier: string } };

/**
 * Customer.io Track API v1 ingest under /api/v1: identify (PUT customers/:id), delete, events and
 * anonymous events. Each call is mapped to one Segment-spec message and stored by the ingest service.
 */
export function customerioRoutes(
  server: FastifyInstance,
  app: Pick<IngestApi, 'ingest' | 'sourceForSiteKey'>,
  options: CustomerioRouteOptions = {},
): void {
  const newMessageId = options.newMessageId ?? (() => `cio-${randomUUID()}`);
  void server.register(
    (api, _opts, done) => {
      const sources = new WeakMap<FastifyRequest, string>();
      // Checked before the body is read: an unauthenticated call is a 401 whatever it sent.
      api.addHook('onRequest', async (request, res) => {
        const given = credentials(request);
        const source = given && app.sourceForSiteKey(given.siteId, given.apiKey);
        if (source === undefined) {
          return res
            .code(401)
            .send(
              cioError(
                given
                  ? 'unknown site id or API key'
                  : 'missing credentials: send HTTP Basic auth with the site id as user and the API key as password',
              ),
            );
        }
        sources.set(request, source);
      });

      // customerio-node sends DELETE with `Content-Type: application/json` and no body.
      const json = api.getDefaultJsonParser('error', 'error');
      api.removeContentTypeParser('application/json');
      api.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, parsed) => {
        const bytes = body as Buffer;
        // Decoding would turn bad bytes into U+FFFD silently, storing something other than was sent.
        if (!isUtf8(bytes))
          return parsed(Object.assign(new Error('the request body is not valid UTF-8'), { statusCode: 400 }));
        const text = bytes.toString('utf8');
        if (text === '') parsed(null, undefined);
        // The default parser is callback-style; its type also allows the promise form.
        else void json(request, text, parsed);
      });

      api.setErrorHandler((error: { code?: string; statusCode?: number; message: string }, request, res) => {
        if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          const length = request.headers['content-length'];
          return res
            .code(413)
            .send(
              cioErrors(
                `request body${length ? ` is ${length} bytes;` : ' exceeds'} the limit is 32 KB per call`,
              ),
            );
        }
        const mapped = mapRequestError(error, request.headers['content-length']);
        if (mapped.status >= 500) {
          request.log.error({ err: error }, 'request failed');
          return res.code(mapped.status).headers(mapped.headers).send(cioError(mapped.body.error.message));
        }
        return res.code(mapped.status).send(cioErrors(mapped.body.error.message));
      });
      api.setNotFoundHandler((request, res) =>
        res
          .code(404)
          .send(
            cioError(
              `no route ${request.method} ${request.url}: Handoff takes identify, delete and events of Track API v1`,
            ),
          ),
      );

      // Refused before the call is mapped: copying or serialising a deep body would overflow the stack.
      api.addHook('preHandler', async (request, res) => {
        const problem = shapeProblem(request.body);
        if (problem) return res.code(400).send(cioErrors(problem.message));
      });

      const store = async (
        request: FastifyRequest,
        res: FastifyReply,
        message: Result<SegmentMessage, Problem>,
      ): Promise<FastifyReply> => {
        const source = sources.get(request);
        if (source === undefined) return res.code(401).send(cioError('unauthenticated'));
        if (!message.ok) return res.code(400).send(cioErrors(message.error.message));
        const result = await app.ingest.ingest(source, [message.value], { rules: { emailIdentifies: true } });
        const rejected = result.rejected[0];
        if (rejected) return res.code(400).send(cioErrors(rejected.message));
        // A duplicate `id` is acknowledged like any success, as Customer.io does.
        return res.code(200).send({});
      };
      const limit = { bodyLimit: MAX_MESSAGE_BYTES };
      api.put<WithIdentifier>('/customers/:identifier', limit, (request, res) =>
        store(request, res, identifyMessage(request.params.identifier, request.body, newMessageId)),
      );
      api.delete<WithIdentifier>('/customers/:identifier', limit, (request, res) =>
        store(request, res, deleteMessage(request.params.identifier, newMessageId)),
      );
      api.post<WithIdentifier>('/customers/:identifier/events', limit, (request, res) =>
        store(request, res, eventMessage(request.params.identifier, request.body, newMessageId)),
      );
      api.post('/events', limit, (request, res) =>
        store(request, res, anonymousEventMessage(request.body, newMessageId)),
      );
      done();
    },
    { prefix: '/api/v1' },
  );
}
