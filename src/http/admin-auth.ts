import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/load.ts';
import { errorBody } from './errors.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** The admin token check for the admin API and /metrics: `Authorization: Bearer <token>`, compared in constant time. */
export function adminAuth(
  server: Pick<Config['server'], 'adminToken'>,
): (request: FastifyRequest, res: FastifyReply) => Promise<FastifyReply | undefined> {
  const token = server.adminToken?.value;
  const expected = token === undefined ? undefined : digest(token);
  return async (request, res) => {
    if (expected === undefined) {
      return res
        .code(401)
        .send(
          errorBody('admin_disabled', 'no admin token is configured: set server.adminToken in handoff.yaml'),
        );
    }
    const header = request.headers.authorization;
    if (header === undefined || !header.startsWith('Bearer ')) {
      return res
        .code(401)
        .send(
          errorBody(
            'unauthorized',
            'missing admin token: send it as Authorization: Bearer <token> (serve logs where a generated one is kept)',
          ),
        );
    }
    if (!timingSafeEqual(digest(header.slice(7).trim()), expected)) {
      return res.code(401).send(errorBody('unauthorized', 'wrong admin token'));
    }
    return undefined;
  };
}
