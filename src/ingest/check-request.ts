import type { BatchDefaults, CheckContext, Problem } from './check.ts';
import { checkMessage, isRecord, typeOf } from './check.ts';
import type { EventColumns } from './event.ts';
import { columnsOf } from './event.ts';
import type { MessageType } from './messages.ts';

/** Which ingest call a body came to: `batch` (/v1/batch, /v1/import) or a single-message route's type. */
export type IngestCall = 'batch' | MessageType;

/** Why one message of a call was not stored; `index` is its place in the call. */
export interface Rejection extends Problem {
  index: number;
}

/** A request body checked message by message: what to store and what to refuse. */
export interface CheckedMessages {
  /** The valid messages; their sourceId is left empty until the write key is resolved. */
  rows: EventColumns[];
  rejected: Rejection[];
  /** The type each rejected message claimed (see typeOf), for counting. */
  rejectedTypes: string[];
}

/** The outcome of checking a raw ingest request body. */
export type CheckedRequest =
  | { kind: 'malformed' }
  | { kind: 'empty' }
  | ({ kind: 'invalid'; writeKey: string | undefined } & Problem)
  | ({ kind: 'checked'; writeKey: string | undefined } & CheckedMessages);

/**
 * Parses and checks an ingest request body (UTF-8 JSON). Pure, with no I/O: it runs on a parse
 * worker for large bodies and inline for small ones, with the same answers.
 */
export function checkRequest(body: Uint8Array, call: IngestCall, context: CheckContext): CheckedRequest {
  if (body.byteLength === 0) return { kind: 'empty' };
  const parsed = parseJson(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  if (parsed === UNPARSABLE) return { kind: 'malformed' };
  const writeKey = isRecord(parsed) && typeof parsed.writeKey === 'string' ? parsed.writeKey : undefined;
  if (call !== 'batch') {
    if (!isRecord(parsed))
      return { kind: 'invalid', writeKey, code: 'invalid_body', message: 'the body must be a JSON object' };
    const { writeKey: _key, ...message } = parsed;
    return { kind: 'checked', writeKey, ...checkMessages([message], context, {}, call) };
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.batch)) {
    const message = 'the body must be a JSON object with a "batch" array';
    return { kind: 'invalid', writeKey, code: 'invalid_body', message };
  }
  if (parsed.batch.length === 0)
    return { kind: 'invalid', writeKey, code: 'empty_batch', message: '"batch" is empty' };
  const defaults: BatchDefaults = {};
  if (isRecord(parsed.context)) defaults.context = parsed.context;
  if (isRecord(parsed.integrations)) defaults.integrations = parsed.integrations;
  if (parsed.sentAt !== undefined) defaults.sentAt = parsed.sentAt;
  return { kind: 'checked', writeKey, ...checkMessages(parsed.batch as unknown[], context, defaults) };
}

function checkMessages(
  messages: readonly unknown[],
  context: CheckContext,
  defaults: BatchDefaults,
  forcedType?: MessageType,
): CheckedMessages {
  const rows: EventColumns[] = [];
  const rejected: Rejection[] = [];
  const rejectedTypes: string[] = [];
  messages.forEach((raw, index) => {
    const checked = checkMessage(raw, '', context, defaults, forcedType, {});
    if ('code' in checked) {
      rejected.push({ index, code: checked.code, message: checked.message });
      rejectedTypes.push(typeOf(raw, forcedType));
    } else rows.push(columnsOf(checked));
  });
  return { rows, rejected, rejectedTypes };
}

const UNPARSABLE = Symbol('unparsable');

/**
 * JSON.parse, refusing what fastify's default parser refuses: an own `__proto__` key, or a
 * `constructor` key holding a `prototype` (either could change an object's prototype when merged
 * with assignment). Bodies whose text cannot spell either key, nearly all, skip the walk.
 */
function parseJson(text: string): unknown {
  // A byte-order mark is allowed, as fastify allows it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return UNPARSABLE;
  }
  const suspicious = text.includes('__proto__') || text.includes('constructor') || text.includes('\\u');
  return suspicious && poisoned(value) ? UNPARSABLE : value;
}

function poisoned(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(poisoned);
  if (Object.hasOwn(value, '__proto__')) return true;
  const ctor = (value as Record<string, unknown>).constructor;
  if (Object.hasOwn(value, 'constructor') && typeof ctor === 'object' && ctor !== null) {
    if (Object.hasOwn(ctor, 'prototype')) return true;
  }
  return Object.values(value).some(poisoned);
}
