import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentityOp, MergeCause } from '../../identity/model.ts';
import type { StoreTest } from './fixtures.ts';
import {
  T0,
  anonymousId,
  apply,
  attach,
  create,
  email,
  invalid,
  logEvents,
  messageIds,
  phone,
  remove,
  sorted,
  track,
  trait,
  userId,
} from './fixtures.ts';

const mergeOp = (from: string, into: string, at: number, cause: MergeCause = 'email'): IdentityOp => ({
  op: 'merge',
  from,
  into,
  cause,
  at,
  offset: 3,
});

const twoProfiles = (): IdentityOp[] => [
  create('p1', T0),
  attach('p1', userId('u1')),
  attach('p1', email('ann@example.com')),
  trait('p1', 'plan', 'gold', T0 + 10),
  trait('p1', 'city', 'Leeds', T0 + 30),
  trait('p1', 'tier', 1, T0 + 5),
  invalid('p1', 'email', 'bad-1'),
  create('p2', T0 + 1),
  attach('p2', anonymousId('a2')),
  attach('p2', phone('+14155552671')),
  trait('p2', 'plan', 'silver', T0 + 20),
  trait('p2', 'city', 'York', T0 + 20),
  trait('p2', 'tier', 2, T0 + 5),
  trait('p2', 'only', 'p2', T0),
  invalid('p2', 'email', 'bad-1'),
  invalid('p2', 'email', 'bad-2'),
  invalid('p2', 'phone', 'bad-3'),
];

/** Merges followed to the survivor, and deletion of a profile's data. */
export function mergeContract(it: StoreTest): void {
  describe('identity merges', () => {
    it('identity.commit merge: the survivor takes every identifier, trait and invalid count; identity.getProfile follows the merged id', async (store) => {
      await apply(store, twoProfiles());
      await apply(store, [mergeOp('p2', 'p1', T0 + 100)]);
      const viaMerged = await store.identity.getProfile('p2');
      const viaIdentifier = await store.identity.findProfile(anonymousId('a2'));
      const survivor = await store.identity.getProfile('p1');
      assert.deepEqual(viaMerged, survivor);
      assert.deepEqual(viaIdentifier, survivor);
      assert.equal(survivor?.id, 'p1');
      assert.equal(survivor?.createdAt, T0);
      assert.deepEqual(
        sorted(survivor?.identifiers),
        sorted([userId('u1'), email('ann@example.com'), anonymousId('a2'), phone('+14155552671')]),
      );
      assert.deepEqual(survivor?.traits, {
        plan: { value: 'silver', ts: T0 + 20 },
        city: { value: 'Leeds', ts: T0 + 30 },
        tier: { value: 1, ts: T0 + 5 }, // a tie keeps the survivor's value
        only: { value: 'p2', ts: T0 },
      });
      assert.deepEqual(survivor?.invalid, { email: 2, phone: 1 });
      assert.deepEqual(survivor?.merges, [{ from: 'p2', into: 'p1', cause: 'email', at: T0 + 100 }]);
      const { profiles } = await store.identity.snapshot([phone('+14155552671')]);
      assert.deepEqual(
        profiles.map((p) => p.id),
        ['p1'],
      );
    });

    it('identity.findProfile: a chain of merges leads every id and identifier to the last survivor, with every record', async (store) => {
      await apply(store, [
        create('p1', T0),
        attach('p1', userId('u1')),
        create('p2', T0 + 1),
        attach('p2', anonymousId('a2')),
        create('p3', T0 + 2),
        attach('p3', anonymousId('a3')),
      ]);
      await apply(store, [mergeOp('p3', 'p2', T0 + 10, 'identify')]);
      await apply(store, [mergeOp('p2', 'p1', T0 + 20, 'alias')]);
      for (const id of ['p1', 'p2', 'p3']) assert.equal((await store.identity.getProfile(id))?.id, 'p1', id);
      for (const i of [userId('u1'), anonymousId('a2'), anonymousId('a3')]) {
        assert.equal((await store.identity.findProfile(i))?.id, 'p1', i.value);
      }
      const merges = (await store.identity.getProfile('p1'))?.merges ?? [];
      assert.deepEqual(
        [...merges].sort((a, b) => a.at - b.at),
        [
          { from: 'p3', into: 'p2', cause: 'identify', at: T0 + 10 },
          { from: 'p2', into: 'p1', cause: 'alias', at: T0 + 20 },
        ],
      );
      assert.equal(await store.audiences.profileCount(), 1, 'merged profiles are not live');
    });

    it('identity.commit: ops apply in order within one commit: create, attach, merge, then attach to the survivor', async (store) => {
      await apply(store, [
        ...twoProfiles(),
        mergeOp('p2', 'p1', T0 + 100),
        attach('p1', anonymousId('a9')),
        trait('p1', 'plan', 'platinum', T0 + 200),
      ]);
      const p = await store.identity.findProfile(anonymousId('a9'));
      assert.equal(p?.id, 'p1');
      assert.equal(p?.identifiers.length, 5);
      assert.deepEqual(p?.traits.plan, { value: 'platinum', ts: T0 + 200 });
    });

    it('audiences.history: a survivor’s history holds the merged profile’s events, in offset order', async (store) => {
      const [a1, a2] = await logEvents(store, 'p1', [track(1), track(2)], T0);
      const [b1] = await logEvents(store, 'p2', [track(3, { userId: 'u2' })], T0);
      const [a3] = await logEvents(store, 'p1', [track(4)]);
      await apply(store, [mergeOp('p2', 'p1', T0 + 100)]);
      const history = await store.audiences.history(['p1']);
      assert.deepEqual(
        history.map((e) => e.offset),
        [a1, a2, b1, a3],
      );
      const [c1] = await logEvents(store, 'p1', [track(5)]);
      assert.deepEqual(
        (await store.audiences.history(['p1'])).map((e) => e.offset),
        [a1, a2, b1, a3, c1],
      );
    });

    it('identity.commit merge within the batch that records both profiles’ events keeps them all', async (store) => {
      await store.events.append([track(1), track(2, { userId: 'u2' }), track(3)]);
      const [e1, e2, e3] = (await store.events.readAfter(0, 3)).map((e) => e.offset);
      await apply(store, [
        create('p1', T0),
        { op: 'event', profileId: 'p1', offset: e1! },
        create('p2', T0),
        { op: 'event', profileId: 'p2', offset: e2! },
        mergeOp('p2', 'p1', T0 + 5),
        { op: 'event', profileId: 'p1', offset: e3! },
      ]);
      assert.deepEqual(messageIds(await store.audiences.history(['p1'])), ['m1', 'm2', 'm3']);
    });
  });

  describe('identity deletion', () => {
    it('identity.commit delete: the profile’s identifiers, traits and logged events go; its id finds nothing', async (store) => {
      await logEvents(store, 'p1', [track(1), track(2)], T0);
      await logEvents(store, 'p2', [track(3, { userId: 'u2' })], T0);
      await apply(store, [
        attach('p1', userId('u1')),
        trait('p1', 'plan', 'gold', T0),
        attach('p2', userId('u2')),
      ]);
      assert.equal(await store.audiences.profileCount(), 2);
      await apply(store, [remove('p1', T0 + 10)]);
      assert.equal(await store.identity.getProfile('p1'), undefined);
      assert.equal(await store.identity.findProfile(userId('u1')), undefined);
      assert.deepEqual(await store.identity.snapshot([userId('u1')]), { profiles: [] });
      assert.deepEqual(await store.audiences.history(['p1']), []);
      assert.deepEqual(messageIds(await store.events.readAfter(0, 100)), ['m3'], 'its events leave the log');
      assert.deepEqual(messageIds(await store.audiences.history(['p2'])), ['m3']);
      assert.equal(await store.audiences.profileCount(), 1);
      // The identifier is free again: a new profile may take it.
      await apply(store, [create('p3', T0 + 20), attach('p3', userId('u1'))]);
      assert.equal((await store.identity.findProfile(userId('u1')))?.id, 'p3');
    });

    it('events.append: an event of a deleted profile sent again is still a duplicate; only its id is kept', async (store) => {
      await logEvents(store, 'p1', [track(1)], T0);
      await logEvents(store, 'p2', [track(2, { userId: 'u2' })], T0);
      await apply(store, [remove('p1', T0 + 10)]);
      assert.deepEqual(await store.events.append([track(1), track(2, { userId: 'u2' }), track(3)]), {
        results: ['duplicate', 'duplicate', 'stored'],
      });
      assert.deepEqual(messageIds(await store.events.readAfter(0, 100)), ['m2', 'm3']);
      assert.deepEqual(
        await store.events.append([track(1, { sourceId: 'app' })]),
        { results: ['stored'] },
        'the same messageId from another source is another message',
      );
    });

    it('identity.commit delete of a profile whose events are recorded in the same batch leaves none in the log', async (store) => {
      await store.events.append([track(1), track(2)]);
      const [e1, e2] = (await store.events.readAfter(0, 2)).map((e) => e.offset);
      await apply(store, [
        create('p1', T0),
        { op: 'event', profileId: 'p1', offset: e1! },
        { op: 'event', profileId: 'p1', offset: e2! },
        remove('p1', T0 + 1),
      ]);
      assert.deepEqual(await store.events.readAfter(0, 100), []);
      assert.equal(await store.audiences.profileCount(), 0);
      assert.deepEqual(await store.events.append([track(2), track(1)]), {
        results: ['duplicate', 'duplicate'],
      });
      await store.events.append([track(3)]);
      const [next] = await store.events.readAfter(0, 100);
      assert.ok(next!.offset > e2!, 'offsets of deleted events are not used again');
      assert.equal(await store.events.head(), next!.offset);
    });
    it('identity.getProfiles: many profiles in one read, each as getProfile sees it, merges followed, the unknown and deleted left out', async (store) => {
      await apply(store, [
        ...twoProfiles(),
        create('p3', T0 + 2),
        attach('p3', userId('u3')),
        create('p4', T0 + 3),
        attach('p4', userId('u4')),
      ]);
      await apply(store, [mergeOp('p2', 'p1', T0 + 50), remove('p4', T0 + 60)]);
      const views = await store.identity.getProfiles!(['p3', 'p2', 'nobody', 'p4', 'p1']);
      for (const id of ['p1', 'p2', 'p3'])
        assert.deepEqual(views.get(id), await store.identity.getProfile(id), id);
      assert.equal(views.get('p2')?.id, 'p1', 'a merged-away id maps to the surviving profile');
      assert.deepEqual([...views.keys()].sort(), ['p1', 'p2', 'p3']);
      assert.equal((await store.identity.getProfiles!([])).size, 0);
    });
  });
}
