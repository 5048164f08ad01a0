import { z } from 'zod';

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
export type MessageType = Message['type'];
export const MESSAGE_TYPES: readonly MessageType[] = [
  'identify',
  'track',
  'page',
  'screen',
  'group',
  'alias',
];
