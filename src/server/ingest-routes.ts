import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorCodes } from 'fastify';
import type { App } from '../app/app.ts';
import type { IngestCall } from '../ingest/check-request.ts';
import type { ParsePoolOptions } from '../ingest/parse-pool.ts';
import { ParsePool } from '../ingest/parse-pool.ts';
import type { IngestResult } from '../ingest/service.ts';
import { MESSAGE_TYPES } from '../ingest/messages.ts';
import { errorBody } from './errors.ts';

/** The write key: HTTP Basic user (empty password), as Segment's clients send it, or `writeKey` in the body. */
function writeKeyOf(request: FastifyRequest, inBody: string | undefined): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  return inBody;
}

function reply(res: FastifyReply, result: IngestResult): FastifyReply {
  const { accepted, duplicates, rejected } = result;
  if (rejected.length === 0) return res.code(200).send({ success: true, accepted, duplicates });
  return res.code(400).send({
    success: false,
    error: {
      code: 'invalid_messages',
      message: `${rejected.length} message(s) rejected; ${accepted} accepted`,
    },
    accepted,
    duplicates,
    rejected,
  });
}

/**
 * Segment-spec ingest: `/v1/{identify,track,page,screen,group,alias}` and `/v1/batch` (`/v1/import`).
 * Bodies arrive as raw bytes and are parsed and checked by a ParsePool (on worker threads when
 * large), so the event loop spends its time on dedupe and the insert.
 */
export function ingestRoutes(
  server: FastifyInstance,
  app: App,
  parse: ParsePoolOptions | ParsePool = {},
): void {
  const pool = parse instanceof ParsePool ? parse : new ParsePool(parse);
  server.addHook('onClose', () => pool.close());

  const authenticate = (
    request: FastifyRequest,
    res: FastifyReply,
    inBody: string | undefined,
  ): string | undefined => {
    const key = writeKeyOf(request, inBody);
    const source = key === undefined ? undefined : app.sourceForKey(key);
    if (source === undefined) {
      void res
        .code(401)
        .send(
          errorBody(
            'unauthorized',
            key === undefined
              ? 'missing write key: send it as the HTTP Basic user (empty password) or as writeKey in the body'
              : 'unknown write key',
          ),
        );
    }
    return source;
  };

  const handler = (call: IngestCall) => async (request: FastifyRequest, res: FastifyReply) => {
    const checked = await pool.check(request.body as Buffer, call, app.ingest.checkContext());
    // The answers fastify's own JSON parser gives (see mapRequestError).
    if (checked.kind === 'empty') throw new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY();
    if (checked.kind === 'malformed') throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
    const source = authenticate(request, res, checked.writeKey);
    if (source === undefined) return res;
    if (checked.kind === 'invalid') return res.code(400).send(errorBody(checked.code, checked.message));
    return reply(res, await app.ingest.ingestChecked(source, checked));
  };

  void server.register((scope, _options, done) => {
    // JSON (and sendBeacon's text/plain JSON) is kept as bytes here and parsed by the pool.
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(
      ['application/json', 'text/plain'],
      { parseAs: 'buffer' },
      (_request, body, parsed) => parsed(null, body),
    );
    for (const type of MESSAGE_TYPES) scope.post(`/v1/${type}`, handler(type));
    scope.post('/v1/batch', handler('batch'));
    scope.post('/v1/import', handler('batch'));
    done();
  });
}
