// Segment-spec messages for the fuzz: valid ones for every type, and the field-level mutations
// that turn one hostile (numbers, nesting, prototype keys, duplicate keys, huge arrays, odd strings).
import type { Rand } from './hostile.ts';
import {
  HOSTILE_NUMBERS,
  NESTING_DEPTHS,
  ODD_STRINGS,
  bigArray,
  chance,
  filler,
  int,
  jsonWith,
  nested,
  pick,
  protoObject,
  raw,
} from './hostile.ts';
import { UTF8_MARKER } from './request.ts';

export const SEGMENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

const EVENTS = ['Product Added', 'Order Completed', 'Product Viewed', 'Checkout Started'] as const;

/** A valid message of `type` (without `type` itself), with the given messageId. */
export function validMessage(rand: Rand, type: SegmentType, messageId: string): Record<string, unknown> {
  const user = int(rand, 0, 299);
  const who: Record<string, unknown> = chance(rand, 0.85)
    ? { userId: `fz-u-${user}` }
    : { anonymousId: `fz-a-${user}` };
  const common: Record<string, unknown> = { ...who, messageId };
  if (chance(rand, 0.5)) common.timestamp = new Date(Date.now() - int(rand, 0, 3_600_000)).toISOString();
  if (chance(rand, 0.2)) common.context = { traits: { email: `fz-u-${user}@example.com` }, ip: '10.0.0.1' };
  switch (type) {
    case 'identify':
      return {
        ...common,
        traits: {
          email: `fz-u-${user}@example.com`,
          name: `Shopper ${user}`,
          note: UTF8_MARKER,
          ...(chance(rand, 0.3) ? { unsubscribed: chance(rand, 0.5) } : {}),
        },
      };
    case 'track':
      return {
        ...common,
        event: pick(rand, EVENTS),
        properties: {
          product_id: `bundle-${int(rand, 1, 9)}`,
          price: int(rand, 1, 200),
          revenue: int(rand, 1, 300),
          note: UTF8_MARKER,
        },
      };
    case 'page':
      return { ...common, name: 'Home', properties: { url: 'https://shop.example/', note: UTF8_MARKER } };
    case 'screen':
      return { ...common, name: 'Cart', properties: { note: UTF8_MARKER } };
    case 'group':
      return { ...common, groupId: `g-${int(rand, 1, 20)}`, traits: { name: 'Team', note: UTF8_MARKER } };
    case 'alias':
      return { ...common, userId: `fz-u-${user}`, previousId: `fz-a-${user}` };
  }
}

/** A message made hostile; `trackable` is false when its messageId itself was the target. */
export interface Mutated {
  text: string;
  shape: string;
  trackable: boolean;
}

const FIELD_MUTATIONS = [
  'number',
  'nesting',
  'dup-keys',
  'proto-keys',
  'array-10k',
  'wrong-type',
  'odd-string',
  'missing-required',
  'oversize-message',
  'long-id',
] as const;

const setPath = (target: Record<string, unknown>, path: string, value: unknown): void => {
  const parts = path.split('.');
  let at = target;
  for (const part of parts.slice(0, -1)) {
    const next = at[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) at[part] = {};
    at = at[part] as Record<string, unknown>;
  }
  at[parts.at(-1)!] = value;
};

/** One field-level mutation of `message` (which may carry `type`), as JSON text. */
export function mutateMessage(rand: Rand, message: Record<string, unknown>): Mutated {
  const m = structuredClone(message);
  const mutation = pick(rand, FIELD_MUTATIONS);
  switch (mutation) {
    case 'number': {
      const field = pick(rand, [
        'timestamp',
        'sentAt',
        'originalTimestamp',
        'properties.revenue',
        'properties.price',
        'traits.created_at',
        'context.traits.age',
      ]);
      const value = pick(rand, HOSTILE_NUMBERS);
      setPath(m, field, raw(0));
      return { text: jsonWith(m, [value]), shape: `number:${field}=${value}`, trackable: true };
    }
    case 'nesting': {
      const where = pick(rand, ['traits', 'properties', 'context', 'context.traits', 'integrations']);
      const depth = pick(rand, NESTING_DEPTHS);
      const kind = chance(rand, 0.5) ? 'object' : 'array';
      setPath(m, `${where}.deep`, raw(0));
      return {
        text: jsonWith(m, [nested(depth, kind)]),
        shape: `nesting:${where}:${depth}:${kind}`,
        trackable: true,
      };
    }
    case 'dup-keys': {
      const text = JSON.stringify(m);
      const first = pick(rand, [
        '"userId":"fz-dup-first"',
        '"event":{"x":1}',
        '"properties":[1,2]',
        '"type":"alias"',
      ]);
      return {
        text: `{${first},${text.slice(1)}`,
        shape: `dup-keys:${first.split(':')[0]}`,
        trackable: true,
      };
    }
    case 'proto-keys': {
      const where = pick(rand, ['top', 'traits', 'properties', 'context', 'context.traits']);
      if (where === 'top') {
        const text = JSON.stringify(m);
        return {
          text: `{${protoObject().slice(1, -1)},${text.slice(1)}`,
          shape: 'proto-keys:top',
          trackable: true,
        };
      }
      setPath(m, where, raw(0));
      return { text: jsonWith(m, [protoObject()]), shape: `proto-keys:${where}`, trackable: true };
    }
    case 'array-10k': {
      const where = pick(rand, ['properties.items', 'traits.tags', 'context.list']);
      const item = pick(rand, ['1', '"abcdef"', '{}', 'null']);
      setPath(m, where, raw(0));
      return {
        text: jsonWith(m, [bigArray(10_000, item)]),
        shape: `array-10k:${where}:${item}`,
        trackable: true,
      };
    }
    case 'wrong-type': {
      const field = pick(rand, [
        'userId',
        'anonymousId',
        'event',
        'properties',
        'traits',
        'context',
        'timestamp',
        'messageId',
        'type',
        'previousId',
        'groupId',
      ]);
      const value = pick(rand, ['42', '{}', '[]', 'true', 'null', '[1,2]', '{"a":1}', '-1e400']);
      m[field] = raw(0);
      return {
        text: jsonWith(m, [value]),
        shape: `wrong-type:${field}=${value}`,
        trackable: field !== 'messageId',
      };
    }
    case 'odd-string': {
      const field = pick(rand, [
        'userId',
        'anonymousId',
        'event',
        'properties.name',
        'traits.name',
        'context.traits.email',
        'previousId',
      ]);
      const value = pick(rand, ODD_STRINGS);
      setPath(m, field, raw(0));
      return { text: jsonWith(m, [value]), shape: `odd-string:${field}=${value}`, trackable: true };
    }
    case 'missing-required': {
      for (const field of ['userId', 'anonymousId', 'event', 'previousId', 'groupId']) {
        if (chance(rand, 0.6)) delete m[field];
      }
      return { text: JSON.stringify(m), shape: 'missing-required', trackable: true };
    }
    case 'oversize-message':
      setPath(m, 'properties.blob', filler(int(rand, 33_000, 60_000)));
      return { text: JSON.stringify(m), shape: 'oversize-message', trackable: true };
    case 'long-id': {
      const field = pick(rand, ['userId', 'anonymousId', 'event']);
      m[field] = filler(int(rand, 2_000, 30_000));
      return { text: JSON.stringify(m), shape: `long-id:${field}`, trackable: true };
    }
  }
}
