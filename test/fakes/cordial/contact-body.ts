import { normalizeKeyValue } from './contact-key.ts';
import type { CordialError, Outcome } from './envelope.ts';
import { GENERIC, fail, ok } from './envelope.ts';

/** What the account defines, which decides how each body key is read. */
export interface AccountSchema {
  /** The account's unique contact keys, e.g. `email`, `channels.sms.address`, `custID`. */
  secondaryKeys: readonly string[];
  /** Contact attribute keys, including custom secondary keys such as `custID`. */
  attributeNames: ReadonlySet<string>;
  listNames: ReadonlySet<string>;
}

export interface ChannelPatch {
  address?: string;
  subscribeStatus?: string;
  invalid?: boolean;
}

/** A validated contact body: nothing is applied until the whole body has passed. */
export interface ContactPatch {
  channels: Record<string, ChannelPatch>;
  /** Attribute values; a dotted geo key (`geo.city`) is kept dotted and merged on apply. */
  attributes: Record<string, unknown>;
  /** List name → true (join) or false (leave). */
  lists: Map<string, boolean>;
  /** POST only: keys to look the contact up by, highest priority first. */
  identifyBy: string[] | undefined;
  forceSubscribe: boolean;
  cID: string | undefined;
}

const STATUSES: Record<string, readonly string[]> = {
  email: ['none', 'subscribed', 'unsubscribed'],
  sms: ['none', 'subscribed', 'unsubscribed', 'pendingDOI'],
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const invalid = (message: string): { ok: false; error: CordialError } => fail(422, GENERIC, message);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseChannel(name: string, raw: unknown): Outcome<ChannelPatch> {
  const statuses = STATUSES[name];
  if (!statuses || !isObject(raw)) return invalid(`Address not exists: channels.${name}`);
  const patch: ChannelPatch = {};
  if (raw.address !== undefined) {
    if (typeof raw.address !== 'string') return invalid(`channels.${name}.address must be a string`);
    const address = raw.address.trim();
    if (name === 'email' && !EMAIL.test(address)) {
      return invalid('channels.email.address is not a valid email address');
    }
    patch.address = normalizeKeyValue(name, address);
  }
  if (raw.subscribeStatus !== undefined) {
    if (typeof raw.subscribeStatus !== 'string' || !statuses.includes(raw.subscribeStatus)) {
      return invalid(`channels.${name}.subscribeStatus must be one of ${statuses.join(', ')}`);
    }
    patch.subscribeStatus = raw.subscribeStatus;
  }
  if (raw.invalid !== undefined) {
    if (typeof raw.invalid !== 'boolean') return invalid(`channels.${name}.invalid must be a boolean`);
    patch.invalid = raw.invalid;
  }
  return ok(patch);
}

function parseChannels(value: unknown): Outcome<Record<string, ChannelPatch>> {
  if (!isObject(value)) return invalid('channels must be an object');
  const channels: Record<string, ChannelPatch> = {};
  for (const [name, raw] of Object.entries(value)) {
    const channel = parseChannel(name, raw);
    if (!channel.ok) return channel;
    channels[name] = channel.value;
  }
  return ok(channels);
}

function parseIdentifyBy(value: unknown, schema: AccountSchema): Outcome<string[]> {
  const keys = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(keys) || keys.length === 0) return invalid('Search field is not correct');
  for (const key of keys) {
    if (typeof key !== 'string' || (key !== 'cID' && !schema.secondaryKeys.includes(key))) {
      return invalid('Search field is not correct');
    }
  }
  return ok(keys as string[]);
}

/**
 * Validates a POST/PUT contact body. List and attribute keys must exist in advance (swagger
 * `addContact`), so a key that names neither is a 422 rather than being silently dropped.
 */
export function parseContactBody(
  body: unknown,
  schema: AccountSchema,
  mode: 'post' | 'put',
): Outcome<ContactPatch> {
  if (!isObject(body)) return invalid('The request body must be a JSON object');
  const patch: ContactPatch = {
    channels: {},
    attributes: {},
    lists: new Map(),
    identifyBy: undefined,
    forceSubscribe: false,
    cID: undefined,
  };
  for (const [key, value] of Object.entries(body)) {
    if (key === 'channels') {
      const channels = parseChannels(value);
      if (!channels.ok) return channels;
      patch.channels = channels.value;
    } else if (key === 'identifyBy') {
      // Documented for POST only; on PUT the path already names the contact.
      if (mode === 'put') continue;
      const keys = parseIdentifyBy(value, schema);
      if (!keys.ok) return keys;
      patch.identifyBy = keys.value;
    } else if (key === 'suppressTriggers') {
      if (typeof value !== 'boolean') return invalid('Incorrect value for suppressTriggers');
    } else if (key === 'forceSubscribe') {
      if (typeof value !== 'boolean') return invalid('Incorrect value for forceSubscribe');
      patch.forceSubscribe = value;
    } else if (key === 'cID') {
      if (typeof value !== 'string') return invalid('cID must be a string');
      patch.cID = value;
    } else if (schema.listNames.has(key)) {
      if (typeof value !== 'boolean')
        return invalid(`Incorrect value for list ${key}: expected true or false`);
      patch.lists.set(key, value);
    } else if (schema.attributeNames.has(key) || schema.attributeNames.has(key.split('.')[0] ?? '')) {
      patch.attributes[key] = value;
    } else {
      // Swagger `AttributeNotFound` says "Key not exist"; the key name is added for the reader.
      return invalid(`Key not exist: ${key}`);
    }
  }
  return ok(patch);
}

/** The value a patch gives for one of the account's unique keys, normalised, if any. */
export function patchKeyValue(patch: ContactPatch, key: string): string | undefined {
  if (key === 'cID') return patch.cID;
  const channel = channelOfKey(key);
  const raw = channel !== undefined ? patch.channels[channel]?.address : patch.attributes[key];
  if (raw === undefined || raw === null || raw === '') return undefined;
  return normalizeKeyValue(key, raw);
}

/** `email` → `email`; `channels.sms.address` → `sms`; a custom attribute key → undefined. */
export function channelOfKey(key: string): string | undefined {
  if (key === 'email') return 'email';
  const m = /^channels\.([^.]+)\.address$/.exec(key);
  return m?.[1];
}
