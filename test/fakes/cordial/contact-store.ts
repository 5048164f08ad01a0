import type { AccountSchema, ContactPatch } from './contact-body.ts';
import { channelOfKey, parseContactBody, patchKeyValue } from './contact-body.ts';
import type { ContactKey } from './contact-key.ts';
import { normalizeKeyValue } from './contact-key.ts';
import type { Outcome } from './envelope.ts';
import { GENERIC, fail, ok, recordNotFound } from './envelope.ts';
import type { ListStore } from './list-store.ts';
import { cordialTime } from './list-store.ts';

interface ChannelState {
  address?: string;
  subscribeStatus: string;
  unsubscribedAt?: string;
  invalid?: boolean;
}

interface ContactRecord {
  cID: string;
  channels: Record<string, ChannelState>;
  attributes: Record<string, unknown>;
  createdAt: string;
  lastModified: string;
}

/** A contact as `GET /v2/contacts/{key}` returns it: attributes at the top level. */
export type ContactView = Record<string, unknown> & {
  _id: string;
  cID: string;
  channels: Record<string, ChannelState>;
  lists: string[];
  /** Join times for `enhanced` lists only; absent when there are none. */
  listJoinDate?: Record<string, string>;
};

/** Contacts keyed by cID, with one unique index per secondary key. */
export class ContactStore {
  private readonly byId = new Map<string, ContactRecord>();
  private readonly index = new Map<string, Map<string, string>>();
  private seq = 0;

  constructor(
    private readonly schema: () => AccountSchema,
    private readonly lists: ListStore,
    private readonly now: () => number,
  ) {
    for (const key of schema().secondaryKeys) this.index.set(key, new Map());
  }

  find(key: ContactKey): ContactRecord | undefined {
    const cID = key.kind === 'cid' ? key.cID : this.index.get(key.key)?.get(key.value);
    return cID === undefined ? undefined : this.byId.get(cID);
  }

  read(key: ContactKey): Outcome<ContactView> {
    const contact = this.find(key);
    return contact ? ok(this.view(contact)) : recordNotFound();
  }

  all(): ContactView[] {
    return [...this.byId.values()].map((c) => this.view(c));
  }

  /**
   * `POST /v2/contacts`: looks the contact up by `identifyBy` (default: the email), updates it if
   * found, creates it otherwise. Cordial recorded this upsert on v1; the v2 swagger lists only 201.
   */
  upsert(body: unknown): Outcome<{ created: boolean; cID: string }> {
    const schema = this.schema();
    const patch = parseContactBody(body, schema, 'post');
    if (!patch.ok) return patch;
    const keys = patch.value.identifyBy ?? ['email'];
    if (![...keys, 'email'].some((k) => patchKeyValue(patch.value, k) !== undefined)) {
      return fail(422, GENERIC, `Must include email or secondaryKey ${schema.secondaryKeys.join(',')}`);
    }
    for (const key of keys) {
      const value = patchKeyValue(patch.value, key);
      if (value === undefined) continue;
      const existing = this.find(
        key === 'cID' ? { kind: 'cid', cID: value } : { kind: 'secondary', key, value },
      );
      if (existing) {
        const updated = this.commit(existing, patch.value);
        return updated.ok ? ok({ created: false, cID: existing.cID }) : updated;
      }
    }
    if (!schema.secondaryKeys.some((k) => patchKeyValue(patch.value, k) !== undefined)) {
      return fail(422, GENERIC, "Contact doesn't exist");
    }
    const created = this.commit(undefined, patch.value);
    return created.ok ? ok({ created: true, cID: created.value.cID }) : created;
  }

  /** `PUT /v2/contacts/{key}`: a partial update of an existing contact. */
  update(key: ContactKey, body: unknown): Outcome<ContactRecord> {
    const contact = this.find(key);
    if (!contact) return recordNotFound();
    const patch = parseContactBody(body, this.schema(), 'put');
    return patch.ok ? this.commit(contact, patch.value) : patch;
  }

  delete(key: ContactKey): Outcome<string> {
    const contact = this.find(key);
    if (!contact) return recordNotFound();
    this.unindex(contact);
    this.byId.delete(contact.cID);
    this.lists.forget(contact.cID);
    return ok(contact.cID);
  }

  reset(): void {
    this.byId.clear();
    for (const values of this.index.values()) values.clear();
  }

  /** Applies a validated patch to a copy, checks it, then commits: a 422 leaves nothing half-written. */
  private commit(current: ContactRecord | undefined, patch: ContactPatch): Outcome<ContactRecord> {
    const { secondaryKeys } = this.schema();
    const at = cordialTime(this.now());
    const next: ContactRecord = current
      ? structuredClone(current)
      : { cID: this.newId(), channels: {}, attributes: {}, createdAt: at, lastModified: at };
    for (const key of secondaryKeys) {
      const value = patchKeyValue(patch, key);
      const holder = value === undefined ? undefined : this.index.get(key)?.get(value);
      if (holder !== undefined && holder !== next.cID) return fail(422, GENERIC, `${key} must be unique`);
    }
    for (const [name, change] of Object.entries(patch.channels)) {
      const channel: ChannelState = next.channels[name] ?? {
        address: change.address,
        subscribeStatus: 'none',
      };
      if (change.address !== undefined) channel.address = change.address;
      if (change.invalid !== undefined) channel.invalid = change.invalid;
      const status = change.subscribeStatus;
      // Cordial: an unsubscribed contact is only resubscribed with forceSubscribe.
      const blocked =
        channel.subscribeStatus === 'unsubscribed' && status === 'subscribed' && !patch.forceSubscribe;
      if (status !== undefined && !blocked && status !== channel.subscribeStatus) {
        channel.subscribeStatus = status;
        if (status === 'unsubscribed') channel.unsubscribedAt = at;
        else delete channel.unsubscribedAt;
      }
      if (channel.address === undefined) return fail(422, GENERIC, 'Address not exists');
      next.channels[name] = channel;
    }
    for (const [key, value] of Object.entries(patch.attributes)) setAttribute(next.attributes, key, value);
    next.lastModified = at;

    if (current) this.unindex(current);
    this.byId.set(next.cID, next);
    this.reindex(next);
    for (const [name, member] of patch.lists) this.lists.setMembership(name, next.cID, member);
    return ok(next);
  }

  private keyValue(contact: ContactRecord, key: string): string | undefined {
    const channel = channelOfKey(key);
    const raw = channel !== undefined ? contact.channels[channel]?.address : contact.attributes[key];
    return raw === undefined || raw === null || raw === '' ? undefined : normalizeKeyValue(key, raw);
  }

  private reindex(contact: ContactRecord): void {
    for (const [key, values] of this.index) {
      const value = this.keyValue(contact, key);
      if (value !== undefined) values.set(value, contact.cID);
    }
  }

  private unindex(contact: ContactRecord): void {
    for (const [key, values] of this.index) {
      const value = this.keyValue(contact, key);
      if (value !== undefined && values.get(value) === contact.cID) values.delete(value);
    }
  }

  /** 24 hex digits like a Mongo ObjectId: seconds, then a counter (unique across `reset()`). */
  private newId(): string {
    const seconds = Math.floor(this.now() / 1000)
      .toString(16)
      .padStart(8, '0')
      .slice(-8);
    return seconds + (++this.seq).toString(16).padStart(16, '0');
  }

  private view(contact: ContactRecord): ContactView {
    const { lists, listJoinDate } = this.lists.membershipsOf(contact.cID);
    return {
      ...structuredClone(contact.attributes),
      _id: contact.cID,
      cID: contact.cID,
      channels: structuredClone(contact.channels),
      lists,
      ...(Object.keys(listJoinDate).length > 0 ? { listJoinDate } : {}),
      createdAt: contact.createdAt,
      lastModified: contact.lastModified,
    };
  }
}

/** `geo.city` merges into the `geo` object; any other key replaces the value. */
function setAttribute(attributes: Record<string, unknown>, key: string, value: unknown): void {
  const dot = key.indexOf('.');
  if (dot < 0) {
    attributes[key] = value;
    return;
  }
  const head = key.slice(0, dot);
  const current = attributes[head];
  const nested = typeof current === 'object' && current !== null ? (current as Record<string, unknown>) : {};
  attributes[head] = { ...nested, [key.slice(dot + 1)]: value };
}
