import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../app/app.ts';
import type { BatchDefaults, IngestResult } from '../ingest/service.ts';
import type { MessageType } from '../ingest/messages.ts';
import { MESSAGE_TYPES } from '../ingest/messages.ts';
import { errorBody } from './errors.ts';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The write key: HTTP Basic user (empty password), as Segment's clients send it, or `writeKey` in the body. */
function writeKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Basic ')) {
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  return isRecord(request.body) && typeof request.body.writeKey === 'string'
    ? request.body.writeKey
    : undefined;
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

/** Segment-spec ingest: `/v1/{identify,track,page,screen,group,alias}` and `/v1/batch` (`/v1/import`). */
export function ingestRoutes(server: FastifyInstance, app: App): void {
  const authenticate = (request: FastifyRequest, res: FastifyReply): string | undefined => {
    const key = writeKeyOf(request);
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

  const single = (type: MessageType) => async (request: FastifyRequest, res: FastifyReply) => {
    const source = authenticate(request, res);
    if (source === undefined) return res;
    if (!isRecord(request.body))
      return res.code(400).send(errorBody('invalid_body', 'the body must be a JSON object'));
    const { writeKey: _key, ...message } = request.body;
    return reply(res, await app.ingest.ingest(source, [message], {}, type));
  };
  for (const type of MESSAGE_TYPES) server.post(`/v1/${type}`, single(type));

  const batch = async (request: FastifyRequest, res: FastifyReply) => {
    const source = authenticate(request, res);
    if (source === undefined) return res;
    const body = request.body;
    if (!isRecord(body) || !Array.isArray(body.batch)) {
      return res
        .code(400)
        .send(errorBody('invalid_body', 'the body must be a JSON object with a "batch" array'));
    }
    if (body.batch.length === 0) return res.code(400).send(errorBody('empty_batch', '"batch" is empty'));
    const defaults: BatchDefaults = {};
    if (isRecord(body.context)) defaults.context = body.context;
    if (isRecord(body.integrations)) defaults.integrations = body.integrations;
    if (body.sentAt !== undefined) defaults.sentAt = body.sentAt;
    return reply(res, await app.ingest.ingest(source, body.batch, defaults));
  };
  server.post('/v1/batch', batch);
  server.post('/v1/import', batch);
}
