import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { App } from '../app/app.ts';
import { normalizeEmail } from '../identity/normalize.ts';
import type { SegmentMember } from '../sources/customerio/app-api.ts';
import { errorBody } from './errors.ts';

type HookRoute = { Params: { audience: string; change: string } };

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Liquid renders a missing attribute as an empty string: that is "not given", not a value. */
const given = (v: unknown): string | undefined =>
  typeof v === 'string' && v.trim() !== '' ? v.trim() : typeof v === 'number' ? String(v) : undefined;

const sameSecret = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * `POST /hooks/customerio/:audience/enter|exit`: the webhook actions of two Customer.io campaigns,
 * one triggered when a person enters the segment and one when they leave it. The body names the
 * person (`{"id": "{{customer.id}}", "email": "{{customer.email}}"}`); the shared secret comes in
 * the configured header. The change is logged durably before the 200.
 */
export function hookRoutes(server: FastifyInstance, app: App): void {
  server.post<HookRoute>('/hooks/customerio/:audience/:change', async (request, res) => {
    const { audience, change } = request.params;
    const source = app.segments;
    if (change !== 'enter' && change !== 'exit')
      return res.code(404).send(errorBody('not_found', `no hook ${change}: use /enter or /exit`));
    if (source === undefined || !source.audiences.has(audience))
      return res
        .code(404)
        .send(
          errorBody('unknown_audience', `${audience} is not an audience sourced from a Customer.io segment`),
        );
    const config = app.config.customerio!;
    const sent = request.headers[config.webhookHeader.toLowerCase()];
    const expected = config.webhookSecret.value;
    if (typeof sent !== 'string' || expected === undefined || !sameSecret(sent, expected))
      return res
        .code(401)
        .send(
          errorBody('unauthorized', `missing or wrong shared secret in the ${config.webhookHeader} header`),
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
      const normalized = normalizeEmail(email, app.config.identity.email);
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
