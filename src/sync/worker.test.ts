import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudienceDefinition } from '../audiences/index.ts';
import { coalesce } from './model.ts';
import type { SyncItem } from './model.ts';
import { dueAt } from './worker.ts';
import { contactKey } from './contact-key.ts';
import type { ProfileView } from '../identity/model.ts';

const item = (contact: string, list: string, desired: boolean): SyncItem => ({
  destination: 'cordial',
  contact,
  list,
  audience: list,
  profileId: 'p',
  email: contact.startsWith('email:') ? contact.slice(6) : undefined,
  desired,
  rev: 1,
  changeSeq: 1,
  priority: 0,
  dueAt: 0,
  sent: undefined,
  state: 'pending',
  attempts: 0,
  nextAttemptAt: 0,
  lastError: undefined,
});

describe('coalescing', () => {
  test('one request per contact, carrying every due list', () => {
    const updates = coalesce([
      item('email:a@x.com', 'cart', false),
      item('email:b@x.com', 'cart', true),
      item('email:a@x.com', 'purchasers', true),
    ]);
    assert.equal(updates.length, 2);
    assert.deepEqual(Object.fromEntries(updates[0]!.lists), { cart: false, purchasers: true });
    assert.equal(updates[0]!.email, 'a@x.com');
  });
});

describe('dueAt: activation delay and cadence', () => {
  const def = (over: Partial<AudienceDefinition>) =>
    ({ activationDelay: 0, cadence: 'realtime', ...over }) as AudienceDefinition;
  const at = Date.parse('2026-11-28T21:10:00Z');
  test('entries wait out the activation delay; exits do not', () => {
    assert.equal(dueAt('enter', at, def({ activationDelay: 1_800_000 })), at + 1_800_000);
    assert.equal(dueAt('exit', at, def({ activationDelay: 1_800_000 })), at);
  });
  test('a 6h cadence sends at the next 6-hour boundary', () => {
    const six = 6 * 3_600_000;
    assert.equal(dueAt('enter', at, def({ cadence: six })), Date.parse('2026-11-29T00:00:00Z'));
    assert.equal(
      dueAt('exit', Date.parse('2026-11-29T00:00:00Z'), def({ cadence: six })),
      Date.parse('2026-11-29T00:00:00Z'),
    );
  });
});

describe('contact keys', () => {
  const profile = (over: Partial<ProfileView>): ProfileView => ({
    id: 'p1',
    createdAt: 0,
    identifiers: [],
    traits: {},
    merges: [],
    invalid: { email: 0, phone: 0 },
    ...over,
  });
  test('email: the current email trait when the profile owns it, never a match key', () => {
    const p = profile({
      identifiers: [
        { kind: 'email', value: 'ann@x.com', address: 'ann+promo@x.com' },
        { kind: 'email', value: 'ann2@x.com', address: 'ann2@x.com' },
        { kind: 'userId', value: 'u1' },
      ],
      traits: { email: { value: 'ann2@x.com', ts: 1 } },
    });
    assert.deepEqual(contactKey(p, { list: 'l', identifier: 'email', value: 'userId' }), {
      key: 'email:ann2@x.com',
    });
    assert.deepEqual(
      contactKey(profile({ identifiers: p.identifiers.slice(0, 1) }), {
        list: 'l',
        identifier: 'email',
        value: 'userId',
      }),
      {
        key: 'email:ann+promo@x.com',
      },
    );
  });
  test('a secondary key from the userId or a trait; none is unmatched', () => {
    const p = profile({
      identifiers: [{ kind: 'userId', value: 'u1' }],
      traits: { loyalty_id: { value: 77, ts: 1 } },
    });
    assert.deepEqual(contactKey(p, { list: 'l', identifier: 'custID', value: 'userId' }), {
      key: 'custID:u1',
    });
    assert.deepEqual(contactKey(p, { list: 'l', identifier: 'loyaltyID', value: 'traits.loyalty_id' }), {
      key: 'loyaltyID:77',
    });
    assert.deepEqual(contactKey(p, { list: 'l', identifier: 'email', value: 'userId' }), {
      unmatched: 'no valid email',
    });
  });
});
