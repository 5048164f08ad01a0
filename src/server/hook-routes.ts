import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { HookApi } from '../app/services.ts';
import { normalizeEmail } from '../identity/normalize.ts';
import type { SegmentMember } from '../sources/customerio/app-api.ts';
import { sameSecret } from '../shared/secrets.ts';
import { errorBody } from '../http/errors.ts';
import { isRecord } from '../shared/is-record.ts';

type HookRoute = { Params: { audience: string; change: string } };

/** Liquid renders a missing attribute as an empty string: that is "not given", not a value. */
const given = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined;

/**
 * `POST /hooks/customerio/:audience/enter|exit`: the webhook actions of two Customer.io campaigns,
 * one triggered when a person enters the segment and one when they leave it. The body names the
 * person (`{"id": "{{customer.id}}", "email": "{{customer.email}}"}`); the shared secret comes in
 * the configured header. The change is logged durably before the 200.
 */
export function hookRoutes(server: FastifyInstance, hooks: HookApi): void {
  // The secret is checked before the body is read, the same way for every path, so a caller
  // without it learns nothing, not even which audiences are sourced from Customer.io.
  const authenticate = async (request: FastifyRequest, res: FastifyReply) => {
    const config = hooks.customerio;
    if (config === undefined)
      return res
        .code(404)
        .send(
          errorBody('not_found', 'Customer.io is not configured: no audience is sourced from its segments'),
        );
    const sent = request.headers[config.webhookHeader.toLowerCase()];
    const expected = config.webhookSecret.value;
    if (typeof sent !== 'string' || expected === undefined || !sameSecret(sent, expected))
      return res
        .code(401)
        .send(
          errorBody('unauthorized', `missing or wrong shared secret in the ${config.webhookHeader} header`),
        );
  };
  const route = '/hooks/customerio/:audience/:change';
  server.post<HookRoute>(route, { onRequest: authenticate }, async (request, res) => {
    const { audience, change } = request.params;
    const source = hooks.segments;
    if (change !== 'enter' && change !== 'exit')
      return res.code(404).send(errorBody('not_found', `no hook ${change}: use /enter or /exit`));
    if (source === undefined || !source.audiences.has(audience))
      return res
        .code(404)
        .send(
          errorBody('unknown_audience', `${audience} is not an audience sourced from a Customer.io segment`),
        );
    const body: unknown = request.body;
    if (!isRecord(body))
      return res
        .code(400)
        .send(errorBody('invalid_body', 'the body must be a JSON object such as {"id": "42"}'));
    const member: SegmentMember = {};
    const id = given(body.id);
    const email = given(body.email);
    const cioId = given(body.cio_id);
    if (id !== undefined) member.id = id;
    if (cioId !== undefined) member.cio_id = cioId;
    if (email !== undefined) {
      const normalized = normalizeEmail(email, hooks.emailPolicy);
      if (normalized.ok) member.email = email;
      else if (id === undefined && cioId === undefined)
        return res.code(400).send(errorBody('invalid_email', `email: ${normalized.reason}`));
    }
    if (member.id === undefined && member.email === undefined && member.cio_id === undefined)
      return res
        .code(400)
        .send(
          errorBody(
            'missing_identifier',
            'the body needs the person\'s id, email or cio_id, e.g. {"id": "{{customer.id}}", "email": "{{customer.email}}"}',
          ),
        );
    const result = await source.webhook(audience, change, member);
    if (result.outcome === 'refused') return res.code(400).send(errorBody('refused', result.reason));
    return result.outcome === 'logged' ? { success: true } : { success: true, ignored: result.reason };
  });
}
