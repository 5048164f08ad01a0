import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IngestApi } from '../app/services.ts';
import type { IngestCall } from '../ingest/check-request.ts';
import type { ParsePoolOptions } from '../ingest/parse-pool.ts';
import { ParsePool } from '../ingest/parse-pool.ts';
import type { IngestResult } from '../ingest/service.ts';
import { MESSAGE_TYPES } from '../ingest/messages.ts';
import { ingestCors } from './cors.ts';
import { errorBody } from '../http/errors.ts';

/** The write key as the HTTP Basic user (empty password), as Segment's clients send it. */
function headerKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const user = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
  return user === '' ? undefined : user;
}

const unauthorized = (res: FastifyReply, key: string | undefined): FastifyReply =>
  res
    .code(401)
    .send(
      errorBody(
        'unauthorized',
        key === undefined
          ? 'missing write key: send it as the HTTP Basic user (empty password) or as writeKey in the body'
          : 'unknown write key',
      ),
    );

function reply(res: FastifyReply, result: IngestResult): FastifyReply {
  const { accepted, duplicates, rejected } = result;
  if (rejected.length === 0) return res.code(200).send({ success: true, accepted, duplicates });
  // A call of one message is refused for that message's reason, so `error.code` says exactly what.
  const only = accepted === 0 && rejected.length === 1 ? rejected[0] : undefined;
  return res.code(400).send({
    success: false,
    error: only
      ? { code: only.code, message: only.message }
      : { code: 'invalid_messages', message: `${rejected.length} message(s) rejected; ${accepted} accepted` },
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
  app: IngestApi,
  parse: ParsePoolOptions | ParsePool = {},
): void {
  const pool = parse instanceof ParsePool ? parse : new ParsePool(parse);
  server.addHook('onClose', () => pool.close());

  // A request carrying its key in the Authorization header is authenticated before its body is
  // read; one carrying it in the body (`writeKey`) is authenticated before its messages are judged.
  const sources = new WeakMap<FastifyRequest, string>();
  const authenticate = async (request: FastifyRequest, res: FastifyReply) => {
    if (request.method === 'OPTIONS') return;
    const key = headerKey(request);
    if (key === undefined) return;
    const source = app.sourceForKey(key);
    if (source === undefined) return unauthorized(res, key);
    sources.set(request, source);
  };

  const handler = (call: IngestCall) => async (request: FastifyRequest, res: FastifyReply) => {
    // Without a Content-Type, fastify parses nothing and leaves no body: that is an empty one.
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const checked = await pool.check(body, call, app.ingest.checkContext());
    if (checked.kind === 'unreadable') return res.code(400).send(errorBody(checked.code, checked.message));
    let source = sources.get(request);
    if (source === undefined) {
      source = checked.writeKey === undefined ? undefined : app.sourceForKey(checked.writeKey);
      if (source === undefined) return unauthorized(res, checked.writeKey);
    }
    if (checked.kind === 'invalid') return res.code(400).send(errorBody(checked.code, checked.message));
    return reply(res, await app.ingest.ingestChecked(source, checked));
  };

  const paths = [...MESSAGE_TYPES.map((type) => `/v1/${type}`), '/v1/batch', '/v1/import'];
  void server.register((scope, _options, done) => {
    // JSON (and sendBeacon's text/plain JSON) is kept as bytes here and parsed by the pool.
    scope.removeContentTypeParser(['application/json', 'text/plain']);
    scope.addContentTypeParser(
      ['application/json', 'text/plain'],
      { parseAs: 'buffer' },
      (_request, body, parsed) => parsed(null, body),
    );
    scope.addHook('onRequest', authenticate);
    ingestCors(scope, app.corsOrigins, paths);
    for (const type of MESSAGE_TYPES) scope.post(`/v1/${type}`, handler(type));
    scope.post('/v1/batch', handler('batch'));
    scope.post('/v1/import', handler('batch'));
    done();
  });
}
