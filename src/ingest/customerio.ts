import { z } from 'zod';
import { DELETION_EVENT } from './event.ts';
import type { Problem, Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import type { messageSchema } from './messages.ts';
import { isRecord } from '../shared/is-record.ts';

/**
 * Customer.io Track API v1 calls as Segment-spec messages, so they go through the same
 * validation, limits, durable log and dedupe as Segment's. Pure: ids come from `newMessageId`.
 */

/** A Segment-spec message as `IngestService.ingest` takes it. */
export type SegmentMessage = z.input<typeof messageSchema>;

/** A message id for calls that carry no dedupe `id`: Customer.io dedupes on `id` only. */
export type NewMessageId = () => string;

/**
 * A path identifier, read from its shape as Customer.io does: `cio_<id>` is Customer.io's own
 * id, a value with an `@` is an email, anything else (a phone number too) is an id.
 */
export type CioIdentifier =
  { kind: 'id'; value: string } | { kind: 'email'; value: string } | { kind: 'cio_id'; value: string };

const CIO_ID = /^cio_[A-Za-z0-9]+$/;
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+$/;

export function parseIdentifier(raw: string): CioIdentifier {
  const value = raw.trim();
  if (CIO_ID.test(value)) return { kind: 'cio_id', value };
  if (EMAIL_SHAPE.test(value)) return { kind: 'email', value };
  return { kind: 'id', value: raw };
}

/** Unix seconds (Customer.io's unit) as the ISO time the Segment message carries. */
const unixSeconds = (field: string) =>
  z
    .union(
      [
        z.number({ error: `${field} must be a unix timestamp in seconds` }),
        z.string().regex(/^\d+$/).transform(Number),
      ],
      {
        error: `${field} must be a unix timestamp in seconds`,
      },
    )
    .pipe(
      z
        .number({ error: `${field} must be a unix timestamp in seconds` })
        .nonnegative(`${field} must be a unix timestamp in seconds`),
    )
    .refine((s) => s < 1e11, { error: `${field} must be in seconds; this looks like milliseconds` })
    .transform((s) => new Date(Math.round(s * 1000)).toISOString());

const idValue = (field: string) =>
  z
    .union([z.string(), z.number()], { error: `${field} must be a string` })
    .transform(String)
    .pipe(z.string().trim().min(1, `${field} must not be empty`));

/** `POST /api/v1/customers/{identifier}/events` and `POST /api/v1/events`. */
export const cioEventSchema = z.looseObject({
  name: z
    .string({ error: 'name is required: the event name, a string' })
    // Customer.io trims event names; untrimmed names cannot be referenced in conditions.
    .trim()
    .min(1, 'name must not be empty'),
  type: z.enum(['event', 'page', 'screen'], { error: 'type must be event, page or screen' }).nullish(),
  timestamp: unixSeconds('timestamp').nullish(),
  id: idValue('id').nullish(),
  anonymous_id: idValue('anonymous_id').nullish(),
  data: z.record(z.string(), z.unknown(), { error: 'data must be a JSON object' }).nullish(),
});

/** `PUT /api/v1/customers/{identifier}`: flat attributes plus these reserved fields. */
export const cioIdentifySchema = z.looseObject({
  id: idValue('id').nullish(),
  email: z.string({ error: 'email must be a string' }).nullish(),
  anonymous_id: idValue('anonymous_id').nullish(),
  _timestamp: unixSeconds('_timestamp').nullish(),
});

/** Reserved identify fields that are not attributes: identifiers, ordering, and actions Handoff lacks. */
const NOT_ATTRIBUTES = new Set(['id', 'anonymous_id', '_timestamp', '_update', 'cio_relationships']);

const problem = (code: string, message: string): Result<never, Problem> => fail({ code, message });

function firstIssue(error: z.ZodError): Result<never, Problem> {
  const issue = error.issues[0];
  return problem('invalid_field', issue?.message ?? 'invalid request body');
}

/** Who a call is about, as Segment ids plus the email trait the identity stage matches on. */
/** An id path names the userId; an email path names only the email. */
type Person = { userId: string; email?: undefined } | { userId?: undefined; email: string };

/** The person a path identifier names. */
function personOf(identifier: string): Result<Person, Problem> {
  const parsed = parseIdentifier(identifier);
  switch (parsed.kind) {
    case 'id':
      if (parsed.value.trim() === '')
        return problem('missing_identifier', 'the path needs a customer identifier');
      return ok({ userId: parsed.value });
    case 'email':
      // The email is the person's identifier, not their id: identity resolution finds the
      // profile that owns it, so one person addressed by id or by email stays one profile.
      return ok({ email: parsed.value });
    case 'cio_id':
      return problem(
        'unsupported_identifier',
        `${parsed.value} is a cio_id, which only Customer.io assigns and Handoff cannot resolve; reference the person by id or email`,
      );
  }
}

const withEmail = (person: Person): Pick<SegmentMessage, 'context'> =>
  person.email === undefined ? {} : { context: { traits: { email: person.email } } };

/** Customer.io reads true (any case), 1 and "1" as unsubscribed; anything else as subscribed. */
const unsubscribed = (value: unknown): boolean =>
  value === true || value === 1 || (typeof value === 'string' && ['true', '1'].includes(value.toLowerCase()));

/** `PUT /api/v1/customers/{identifier}` → identify: attributes become traits. */
export function identifyMessage(
  identifier: string,
  body: unknown,
  newMessageId: NewMessageId,
): Result<SegmentMessage, Problem> {
  if (!isRecord(body)) return problem('invalid_body', 'the body must be a JSON object of attributes');
  const person = personOf(identifier);
  if (!person.ok) return person;
  const parsed = cioIdentifySchema.safeParse(body);
  if (!parsed.success) return firstIssue(parsed.error);
  const { id, email, anonymous_id, _timestamp } = parsed.data;
  let { userId } = person.value;
  if (person.value.email !== undefined) {
    // Customer.io lets an identify by email set the person's id.
    if (id) userId = id;
    if (email && email.trim().toLowerCase() !== person.value.email.toLowerCase())
      return conflict('email', email, person.value.email);
  } else if (id && userId !== undefined && id !== userId) return conflict('id', id, userId);

  const traits: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) if (!NOT_ATTRIBUTES.has(name)) traits[name] = value;
  if (traits.email === undefined && person.value.email !== undefined) traits.email = person.value.email;
  if ('unsubscribed' in traits) traits.unsubscribed = unsubscribed(traits.unsubscribed);
  return ok({
    type: 'identify',
    messageId: newMessageId(),
    ...(userId === undefined ? {} : { userId }),
    ...(anonymous_id ? { anonymousId: anonymous_id } : {}),
    traits,
    ...(_timestamp ? { timestamp: _timestamp } : {}),
  });
}

/** Customer.io drops an update whose body names someone other than its path ("Attribute Update Failure"). */
const conflict = (field: string, inBody: string, inPath: string): Result<never, Problem> =>
  problem(
    'identifier_conflict',
    `${field} ${JSON.stringify(inBody)} in the body differs from ${JSON.stringify(inPath)} in the path; Customer.io changes identifiers only through cio_id, which Handoff does not support`,
  );

/** `POST /api/v1/customers/{identifier}/events` → track, or page/screen by `type`. */
export function eventMessage(
  identifier: string,
  body: unknown,
  newMessageId: NewMessageId,
): Result<SegmentMessage, Problem> {
  const person = personOf(identifier);
  if (!person.ok) return person;
  return event(body, person.value, newMessageId);
}

/** `POST /api/v1/events` → an event of a person known only by `anonymous_id`. */
export function anonymousEventMessage(
  body: unknown,
  newMessageId: NewMessageId,
): Result<SegmentMessage, Problem> {
  return event(body, undefined, newMessageId);
}

function event(
  body: unknown,
  person: Person | undefined,
  newMessageId: NewMessageId,
): Result<SegmentMessage, Problem> {
  if (!isRecord(body)) return problem('invalid_body', 'the body must be a JSON object with at least a name');
  const parsed = cioEventSchema.safeParse(body);
  if (!parsed.success) return firstIssue(parsed.error);
  const { name, type, timestamp, id, anonymous_id, data } = parsed.data;
  if (person === undefined && !anonymous_id) {
    return problem(
      'missing_identifier',
      'anonymous events need an anonymous_id: Handoff keeps every event on a profile',
    );
  }
  const common = {
    messageId: id ?? newMessageId(),
    ...(person
      ? { ...(person.userId === undefined ? {} : { userId: person.userId }), ...withEmail(person) }
      : {}),
    ...(anonymous_id ? { anonymousId: anonymous_id } : {}),
    ...(timestamp ? { timestamp } : {}),
    properties: data ?? {},
  };
  if (type === 'page' || type === 'screen') return ok({ type, name, ...common });
  return ok({ type: 'track', event: name, ...common });
}

/**
 * `DELETE /api/v1/customers/{identifier}` → the `User Deleted` semantic event (Customer.io
 * Data Pipelines' name), on which the engine deletes the profile's data and exits its audiences.
 */
export function deleteMessage(
  identifier: string,
  newMessageId: NewMessageId,
): Result<SegmentMessage, Problem> {
  const person = personOf(identifier);
  if (!person.ok) return person;
  return ok({
    type: 'track',
    event: DELETION_EVENT,
    messageId: newMessageId(),
    ...(person.value.userId === undefined ? {} : { userId: person.value.userId }),
    ...withEmail(person.value),
    properties: {},
  });
}
