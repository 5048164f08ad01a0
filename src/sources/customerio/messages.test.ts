import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pageMembers } from './app-api.ts';
import { changeMessage } from './messages.ts';
import type { ProfileView } from '../../identity/model.ts';

test('a page lists members by identifiers, else by ids; blank ids are dropped', () => {
  assert.deepEqual(
    pageMembers({
      identifiers: [
        { id: 'u1', email: 'a@x.com', cio_id: 'c1' },
        { id: '', email: 'b@x.com', cio_id: 'c2' },
        { cio_id: 'c3' },
        { id: 42, cio_id: 'c4' },
      ],
      ids: ['u1', '', ''],
    }),
    [
      { id: 'u1', email: 'a@x.com', cio_id: 'c1' },
      { email: 'b@x.com', cio_id: 'c2' },
      { cio_id: 'c3' },
      { id: '42', cio_id: 'c4' },
    ],
  );
  assert.deepEqual(pageMembers({ ids: ['u1', '', 'u2'] }), [{ id: 'u1' }, { id: 'u2' }]);
  assert.deepEqual(pageMembers({}), []);
});

const change = { audience: 'cio_vip', segmentId: 12, change: 'enter' as const, via: 'poll' as const, at: 0 };

test('a member becomes a track message by id, else email, else cio_id', () => {
  const ids = (m: Record<string, unknown> | undefined) =>
    m && { userId: m.userId, anonymousId: m.anonymousId, context: m.context, event: m.event };
  assert.deepEqual(ids(changeMessage({ member: { id: 'u1', email: 'a@x.com' } }, change)), {
    userId: 'u1',
    anonymousId: undefined,
    context: { traits: { email: 'a@x.com' } },
    event: 'Customer.io Segment Entered',
  });
  assert.deepEqual(ids(changeMessage({ member: { email: 'a@x.com', cio_id: 'c1' } }, change)), {
    userId: undefined,
    anonymousId: undefined,
    context: { traits: { email: 'a@x.com' } },
    event: 'Customer.io Segment Entered',
  });
  assert.deepEqual(ids(changeMessage({ member: { cio_id: 'c1' } }, { ...change, change: 'exit' })), {
    userId: undefined,
    anonymousId: 'cio_id:c1',
    context: undefined,
    event: 'Customer.io Segment Exited',
  });
  assert.equal(changeMessage({ member: {} }, change), undefined);
  const message = changeMessage({ member: { id: 'u1', cio_id: 'c9' } }, change)!;
  assert.deepEqual(message.properties, { audience: 'cio_vip', segment_id: 12, via: 'poll', cio_id: 'c9' });
  assert.equal(message.timestamp, '1970-01-01T00:00:00.000Z');
});

test('a known profile is addressed by userId, else its email address, else anonymousId', () => {
  const profile = (identifiers: ProfileView['identifiers']): ProfileView => ({
    id: 'p1',
    createdAt: 0,
    identifiers,
    traits: {},
    merges: [],
    invalid: { email: 0, phone: 0 },
  });
  const exit = { ...change, change: 'exit' as const };
  const a = changeMessage(
    {
      profile: profile([
        { kind: 'email', value: 'ab@x.com', address: 'a.b@x.com' },
        { kind: 'userId', value: 'u1' },
      ]),
    },
    exit,
  )!;
  assert.deepEqual([a.userId, a.context], ['u1', undefined]);
  const b = changeMessage(
    { profile: profile([{ kind: 'email', value: 'ab@x.com', address: 'a.b@x.com' }]) },
    exit,
  )!;
  assert.deepEqual(b.context, { traits: { email: 'a.b@x.com' } });
  const c = changeMessage({ profile: profile([{ kind: 'anonymousId', value: 'anon-1' }]) }, exit)!;
  assert.equal(c.anonymousId, 'anon-1');
  assert.equal(
    changeMessage({ profile: profile([{ kind: 'phone', value: '+14155552671' }]) }, exit),
    undefined,
  );
});
