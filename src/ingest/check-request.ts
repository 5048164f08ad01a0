import { isUtf8 } from 'node:buffer';
import type { BatchDefaults, CheckContext, Problem } from './check.ts';
import { isRecord } from '../shared/is-record.ts';
import { checkMessage, typeOf } from './check.ts';
import type { EventColumns } from './event.ts';
import { columnsOf } from './event.ts';
import type { MessageType } from './messages.ts';
import { MAX_NESTING_DEPTH, nestsDeeperThan, shapeProblem } from './nesting.ts';

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
  /** Not JSON Handoff can read (empty, not UTF-8, malformed), so no write key can be found in it. */
  | ({ kind: 'unreadable' } & Problem)
  | ({ kind: 'invalid'; writeKey: string | undefined } & Problem)
  | ({ kind: 'checked'; writeKey: string | undefined } & CheckedMessages);

/**
 * Parses and checks an ingest request body (UTF-8 JSON). Pure, with no I/O: it runs on a parse
 * worker for large bodies and inline for small ones, with the same answers.
 */
export function checkRequest(body: Uint8Array, call: IngestCall, context: CheckContext): CheckedRequest {
  if (body.byteLength === 0)
    return {
      kind: 'unreadable',
      code: 'empty_body',
      message: 'the request body is empty; send a JSON object',
    };
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // Decoding would turn bad bytes into U+FFFD silently, storing something other than was sent.
  if (!isUtf8(bytes))
    return { kind: 'unreadable', code: 'invalid_utf8', message: 'the request body is not valid UTF-8' };
  const text = bytes.toString('utf8');
  const parsed = parseJson(text);
  if (parsed instanceof SyntaxError)
    return {
      kind: 'unreadable',
      code: 'malformed_json',
      message: `the body is not valid JSON: ${parsed.message}`,
    };
  const writeKey = isRecord(parsed) && typeof parsed.writeKey === 'string' ? parsed.writeKey : undefined;
  // Nearly every body is shallow and cannot spell a forbidden key: only the others are walked.
  const careful =
    nestsDeeperThan(bytes, MAX_NESTING_DEPTH) ||
    text.includes('__proto__') ||
    text.includes('constructor') ||
    text.includes('\\u');
  if (call !== 'batch') {
    if (!isRecord(parsed))
      return { kind: 'invalid', writeKey, code: 'invalid_body', message: 'the body must be a JSON object' };
    const { writeKey: _key, ...message } = parsed;
    return { kind: 'checked', writeKey, ...checkMessages([message], context, { careful, forcedType: call }) };
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.batch)) {
    const message = 'the body must be a JSON object with a "batch" array';
    return { kind: 'invalid', writeKey, code: 'invalid_body', message };
  }
  const { batch, ...shared } = parsed;
  if (batch.length === 0)
    return { kind: 'invalid', writeKey, code: 'empty_batch', message: '"batch" is empty' };
  // The call's own fields are read like a message's (context, integrations and sentAt fill in each one).
  const problem = careful ? shapeProblem(shared) : undefined;
  if (problem) return { kind: 'invalid', writeKey, code: problem.code, message: problem.message };
  const defaults: BatchDefaults = {};
  if (isRecord(shared.context)) defaults.context = shared.context;
  if (isRecord(shared.integrations)) defaults.integrations = shared.integrations;
  if (shared.sentAt !== undefined) defaults.sentAt = shared.sentAt;
  return { kind: 'checked', writeKey, ...checkMessages(batch as unknown[], context, { careful, defaults }) };
}

interface CheckOptions {
  /** Walk each message for depth and forbidden keys (the body's text could hold either). */
  careful: boolean;
  defaults?: BatchDefaults;
  forcedType?: MessageType;
}

function checkMessages(
  messages: readonly unknown[],
  context: CheckContext,
  { careful, defaults = {}, forcedType }: CheckOptions,
): CheckedMessages {
  const rows: EventColumns[] = [];
  const rejected: Rejection[] = [];
  const rejectedTypes: string[] = [];
  messages.forEach((raw, index) => {
    const checked =
      (careful ? shapeProblem(raw) : undefined) ??
      checkMessage({ raw, sourceId: '', context, defaults, forcedType, rules: {} });
    if ('code' in checked) {
      rejected.push({ index, code: checked.code, message: checked.message });
      rejectedTypes.push(typeOf(raw, forcedType));
    } else rows.push(columnsOf(checked));
  });
  return { rows, rejected, rejectedTypes };
}

/** JSON.parse (iterative in V8: any depth parses), or its SyntaxError. A byte-order mark is allowed, as fastify allows it. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
  } catch (error) {
    return error instanceof SyntaxError ? error : new SyntaxError(String(error));
  }
}
