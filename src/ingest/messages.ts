import { z } from 'zod';
import { isRecord } from '../shared/is-record.ts';

/** Byte limits from the Segment HTTP API: larger calls get a 400 naming the limit. */
export const MAX_MESSAGE_BYTES = 32 * 1024;
export const MAX_REQUEST_BYTES = 500 * 1024;

const id = z.union([z.string(), z.number()]).transform(String).pipe(z.string().min(1).max(512));
const isoTime = z.union([z.string(), z.number()]).optional();
const object = z.record(z.string(), z.unknown());

const common = {
  messageId: z.string().min(1).max(512).optional(),
  userId: id.nullish(),
  anonymousId: id.nullish(),
  timestamp: isoTime,
  originalTimestamp: isoTime,
  sentAt: isoTime,
  context: object.optional(),
  integrations: object.optional(),
  version: z.unknown().optional(),
};

/** Segment-spec messages: the fields Handoff reads are checked, anything else is kept as sent. */
export const messageSchema = z.discriminatedUnion('type', [
  z.looseObject({ ...common, type: z.literal('identify'), traits: object.optional() }),
  z.looseObject({
    ...common,
    type: z.literal('track'),
    event: z.string().min(1).max(512),
    properties: object.optional(),
  }),
  z.looseObject({
    ...common,
    type: z.literal('page'),
    name: z.string().nullish(),
    category: z.string().nullish(),
    properties: object.optional(),
  }),
  z.looseObject({
    ...common,
    type: z.literal('screen'),
    name: z.string().nullish(),
    category: z.string().nullish(),
    properties: object.optional(),
  }),
  z.looseObject({ ...common, type: z.literal('group'), groupId: id, traits: object.optional() }),
  z.looseObject({ ...common, type: z.literal('alias'), previousId: id }),
]);

export type Message = z.infer<typeof messageSchema>;

const isName = (v: unknown): boolean => typeof v === 'string' && v.length >= 1 && v.length <= 512;
const isOptionalName = (v: unknown): boolean => v === undefined || isName(v);
const isNullishName = (v: unknown): boolean => v === undefined || v === null || isName(v);
const isOptionalTime = (v: unknown): boolean =>
  v === undefined || typeof v === 'string' || typeof v === 'number';
const isOptionalRecord = (v: unknown): boolean => v === undefined || isRecord(v);
const isNullishString = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';

/**
 * True when `messageSchema` would accept `m` and return it unchanged: the hot path's check,
 * many times cheaper than the schema. False means "ask the schema" (it may still accept, e.g.
 * a numeric userId it turns into a string), never "invalid".
 */
export function isPlainMessage(m: Record<string, unknown>): m is Message {
  if (
    !isOptionalName(m.messageId) ||
    !isNullishName(m.userId) ||
    !isNullishName(m.anonymousId) ||
    !isOptionalTime(m.timestamp) ||
    !isOptionalTime(m.originalTimestamp) ||
    !isOptionalTime(m.sentAt) ||
    !isOptionalRecord(m.context) ||
    !isOptionalRecord(m.integrations)
  )
    return false;
  switch (m.type) {
    case 'identify':
      return isOptionalRecord(m.traits);
    case 'track':
      return isName(m.event) && isOptionalRecord(m.properties);
    case 'page':
    case 'screen':
      return isNullishString(m.name) && isNullishString(m.category) && isOptionalRecord(m.properties);
    case 'group':
      return isName(m.groupId) && isOptionalRecord(m.traits);
    case 'alias':
      return isName(m.previousId);
    default:
      return false;
  }
}
export type MessageType = Message['type'];
export const MESSAGE_TYPES: readonly MessageType[] = [
  'identify',
  'track',
  'page',
  'screen',
  'group',
  'alias',
];
