import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { IncomingEvent } from './event.ts';
import type { Message, MessageType } from './messages.ts';
import { MAX_MESSAGE_BYTES, MESSAGE_TYPES, isPlainMessage, messageSchema } from './messages.ts';
import { MIN_EVENT_TIME, eventTime } from './timestamps.ts';
import { isRecord } from '../shared/is-record.ts';

/** Why one message was refused: a stable code and a sentence naming the field. */
export interface Problem {
  code: string;
  message: string;
}

/** Per-source rules beyond the Segment spec. */
export interface IngestRules {
  /** An email in the traits (or context.traits) identifies the person without a userId, as Customer.io allows. */
  emailIdentifies?: boolean;
}

/** Fields a batch call applies to every message in it. */
export interface BatchDefaults {
  context?: Record<string, unknown>;
  integrations?: Record<string, unknown>;
  sentAt?: unknown;
}

/** What checking a message needs from the server: its clock reading and the skew limit. */
export interface CheckContext {
  /** When the call arrived, ms since the epoch. */
  receivedAt: number;
  /** Events stamped further ahead of `receivedAt` than this are rejected (ms). */
  maxFutureSkewMs: number;
}

/** One raw message of `sourceId`, with the batch's defaults, a type forced by the route (or undefined), and the source's rules. */
export interface MessageToCheck {
  raw: unknown;
  sourceId: string;
  context: CheckContext;
  defaults: BatchDefaults;
  forcedType: MessageType | undefined;
  rules: IngestRules;
}

/**
 * Checks one Segment-spec message and returns it as the log stores it (with `body`, its JSON
 * text), or the problem that refuses it. Pure: safe to run on any thread.
 */
export function checkMessage({
  raw,
  sourceId,
  context,
  defaults,
  forcedType,
  rules,
}: MessageToCheck): IncomingEvent | Problem {
  if (!isRecord(raw)) return { code: 'invalid_message', message: 'a message must be a JSON object' };
  const inferTrack = !forcedType && raw.type === undefined && typeof raw.event === 'string';
  const changed =
    forcedType || inferTrack || defaults.context || defaults.integrations || defaults.sentAt !== undefined;
  // Copied only when something is filled in, so the caller's object is never changed.
  const candidate: Record<string, unknown> = changed ? { ...raw } : raw;
  if (forcedType) candidate.type = forcedType;
  else if (inferTrack) candidate.type = 'track';
  if (defaults.context && (candidate.context === undefined || isRecord(candidate.context))) {
    candidate.context = { ...defaults.context, ...candidate.context };
  }
  if (defaults.integrations && candidate.integrations === undefined)
    candidate.integrations = defaults.integrations;
  if (candidate.sentAt === undefined && defaults.sentAt !== undefined) candidate.sentAt = defaults.sentAt;

  let message: Message;
  let body: string;
  if (isPlainMessage(candidate)) {
    message = candidate;
    body = JSON.stringify(message);
    const tooLarge = sizeProblem(body);
    if (tooLarge) return tooLarge;
  } else {
    const tooLarge = sizeProblem(JSON.stringify(candidate));
    if (tooLarge) return tooLarge;
    const parsed = messageSchema.safeParse(candidate);
    if (!parsed.success) return { code: 'invalid_message', message: describe(parsed.error, candidate) };
    message = parsed.data;
    body = JSON.stringify(message);
  }
  const userId = message.userId ?? null;
  const anonymousId = message.anonymousId ?? null;
  if (message.type === 'alias' && userId === null) {
    return { code: 'missing_identifier', message: 'alias needs a userId (the new id) and a previousId' };
  }
  if (userId === null && anonymousId === null && !(rules.emailIdentifies && emailOf(message) !== undefined)) {
    return { code: 'missing_identifier', message: 'every message needs a userId or an anonymousId' };
  }
  const nul = nulField(message);
  if (nul) {
    return {
      code: 'invalid_character',
      message: `${nul} contains a NUL character (\\u0000); identifiers and event names may not (PostgreSQL cannot store one)`,
    };
  }
  const time = eventTime(message, context.receivedAt, context.maxFutureSkewMs, {
    earliest: MIN_EVENT_TIME,
  });
  if (!time.ok) return time.error;
  return {
    sourceId,
    messageId: message.messageId ?? contentId(message),
    type: message.type,
    userId,
    anonymousId,
    name: nameOf(message),
    timestamp: time.value,
    receivedAt: context.receivedAt,
    message,
    body,
  };
}

/** The type a refused message claimed, for counting: the route's type, a known `type`, else `unknown`. */
export function typeOf(raw: unknown, forcedType: MessageType | undefined): string {
  if (forcedType !== undefined) return forcedType;
  const type = isRecord(raw) ? raw.type : undefined;
  return typeof type === 'string' && (MESSAGE_TYPES as readonly string[]).includes(type) ? type : 'unknown';
}

function sizeProblem(body: string): Problem | undefined {
  // A UTF-8 byte is at least one UTF-16 unit and at most three, so most bodies need no count.
  if (body.length * 3 <= MAX_MESSAGE_BYTES) return undefined;
  const bytes = Buffer.byteLength(body);
  if (bytes <= MAX_MESSAGE_BYTES) return undefined;
  return { code: 'message_too_large', message: `message is ${bytes} bytes; the limit is 32 KB per message` };
}

/**
 * The id of a message sent without a messageId: a hash of its content, leaving out `sentAt`,
 * which a client's retry of the same message changes.
 */
function contentId(message: Message): string {
  const { sentAt: _sentAt, ...content } = message;
  return `sha1-${createHash('sha1').update(JSON.stringify(content)).digest('hex')}`;
}

function emailOf(m: Message): string | undefined {
  const own = m.type === 'identify' && isRecord(m.traits) ? m.traits.email : undefined;
  const context = isRecord(m.context) && isRecord(m.context.traits) ? m.context.traits.email : undefined;
  const email = own ?? context;
  return typeof email === 'string' && email.trim() !== '' ? email : undefined;
}

function nameOf(m: Message): string | null {
  if (m.type === 'track') return m.event;
  if (m.type === 'page' || m.type === 'screen') return m.name ?? null;
  return null;
}

/** Turns a schema failure into one sentence naming the field, e.g. "track needs `event` (a string)". */
function describe(error: z.ZodError, candidate: Record<string, unknown>): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid message';
  const field = issue.path.join('.');
  if (field === 'type') {
    return `type must be one of identify, track, page, screen, group, alias (got ${JSON.stringify(candidate.type) ?? 'nothing'})`;
  }
  const value = issue.path.reduce<unknown>((v, k) => (isRecord(v) ? v[k as string] : undefined), candidate);
  if (value === undefined) return `${String(candidate.type)} needs \`${field}\``;
  if (issue.code === 'invalid_union') return `\`${field}\` must be a string`;
  return `\`${field}\` is invalid: ${issue.message}`;
}

/** The first of the fields kept as columns of the log that holds a NUL character, if any. */
function nulField(message: Message): string | undefined {
  const fields: [string, unknown][] = [
    ['messageId', message.messageId],
    ['userId', message.userId],
    ['anonymousId', message.anonymousId],
    ['event', (message as { event?: unknown }).event],
    ['name', (message as { name?: unknown }).name],
  ];
  return fields.find(([, value]) => typeof value === 'string' && value.includes('\u0000'))?.[0];
}
