import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentityOp, MergeCause } from '../../identity/model.ts';
import type { StoreTest } from './fixtures.ts';
import {
  T0,
  userId,
  anonymousId,
  email,
  phone,
  create,
  attach,
  trait,
  invalid,
  sorted,
  apply,
} from './fixtures.ts';

/** Merges: two profiles become one, and lookups follow the survivor. */
export function mergeContract(it: StoreTest): void {
  describe('merges', () => {
    const twoProfiles = (): IdentityOp[] => [
      create('p1', T0),
      attach('p1', userId('u1')),
      attach('p1', email('ann@example.com')),
      trait('p1', 'plan', 'gold', T0 + 10),
      trait('p1', 'city', 'Leeds', T0 + 30),
      trait('p1', 'tier', 1, T0 + 5),
      invalid('p1', 'email', 'bad-1'),
      { op: 'event', profileId: 'p1', offset: 1 },
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
      { op: 'event', profileId: 'p2', offset: 2 },
    ];
    const mergeOp = (from: string, into: string, at: number, cause: MergeCause = 'email'): IdentityOp => ({
      op: 'merge',
      from,
      into,
      cause,
      at,
      offset: 3,
    });

    it('the survivor takes every identifier, trait and invalid count; the merged id follows to it', async (store) => {
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

    it('a chain of merges leads every id and identifier to the last survivor, with every record', async (store) => {
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
    });

    it('ops apply in order within one commit: create, attach, merge, then attach to the survivor', async (store) => {
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
  });
}
