import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentityOp, ProfileView } from '../../identity/model.ts';
import { CursorMovedError } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import {
  T0,
  anonymousId,
  apply,
  attach,
  create,
  email,
  invalid,
  phone,
  rejection,
  sorted,
  trait,
  userId,
} from './fixtures.ts';

/** Profiles, identifiers and traits, and the compare-and-set that guards their commits. */
export function identityContract(it: StoreTest): void {
  describe('identity', () => {
    for (const stale of [0, 9]) {
      it(`identity.commit from a stale position (${stale}) throws CursorMovedError and applies nothing`, async (store) => {
        await store.identity.commit([], 'processor', 0, 5);
        const ops = [create('p1', T0), attach('p1', userId('u1')), trait('p1', 'plan', 'gold', T0)];
        const error = await rejection(store.identity.commit(ops, 'processor', stale, 10));
        assert.ok(error instanceof CursorMovedError, `got ${String(error)}`);
        assert.equal(error.cursorName, 'processor');
        assert.equal(error.expected, stale);
        assert.equal(error.actual, 5);
        assert.equal(await store.cursors.get('processor'), 5);
        assert.equal(await store.identity.getProfile('p1'), undefined);
        assert.equal(await store.identity.findProfile(userId('u1')), undefined);
      });
    }

    it('identity.findProfile, identity.getProfile: a profile is found by every identifier it holds and by its id', async (store) => {
      const ids = [
        userId('u1'),
        anonymousId('a1'),
        email('ann@example.com', 'ann+news@example.com'),
        phone('+447911123456'),
      ];
      await apply(store, [create('p1', T0), ...ids.map((i) => attach('p1', i))]);
      const expected: ProfileView = {
        id: 'p1',
        createdAt: T0,
        identifiers: sorted(ids),
        traits: {},
        merges: [],
        invalid: { email: 0, phone: 0 },
      };
      for (const i of ids) {
        const found = await store.identity.findProfile({ kind: i.kind, value: i.value });
        assert.deepEqual(
          found && { ...found, identifiers: sorted(found.identifiers) },
          expected,
          `${i.kind}:${i.value}`,
        );
      }
      const byId = await store.identity.getProfile('p1');
      assert.deepEqual(byId && { ...byId, identifiers: sorted(byId.identifiers) }, expected);
    });

    it('identity.findProfile, identity.getProfile: unknown identifiers and ids find nothing', async (store) => {
      assert.equal(await store.identity.getProfile('p1'), undefined, 'an empty store');
      await apply(store, [create('p1', T0), attach('p1', userId('u1'))]);
      assert.equal(await store.identity.findProfile(userId('u2')), undefined);
      assert.equal(
        await store.identity.findProfile(anonymousId('u1')),
        undefined,
        'the kind is part of the key',
      );
      assert.equal(await store.identity.findProfile(userId('U1')), undefined, 'values match exactly');
      assert.equal(await store.identity.getProfile('p2'), undefined);
    });

    it('identity.snapshot lists each profile owning a key once, with all its identifiers', async (store) => {
      await apply(store, [
        create('p1', T0),
        attach('p1', userId('u1')),
        attach('p1', anonymousId('a1')),
        create('p2', T0 + 1),
        attach('p2', userId('u2')),
        create('p3', T0 + 2),
        attach('p3', email('c@example.com')),
      ]);
      assert.deepEqual(await store.identity.snapshot([]), { profiles: [] });
      assert.deepEqual(await store.identity.snapshot([userId('nobody')]), { profiles: [] });
      const { profiles } = await store.identity.snapshot([
        userId('u1'),
        anonymousId('a1'),
        userId('u1'),
        userId('nobody'),
        email('c@example.com'),
      ]);
      assert.deepEqual(
        profiles
          .map((p) => ({ ...p, identifiers: sorted(p.identifiers) }))
          .sort((a, b) => a.id.localeCompare(b.id)),
        [
          { id: 'p1', createdAt: T0, identifiers: sorted([userId('u1'), anonymousId('a1')]) },
          { id: 'p3', createdAt: T0 + 2, identifiers: [email('c@example.com')] },
        ],
      );
    });

    it('identity.getProfile: traits: the latest event timestamp wins, whatever the order of arrival', async (store) => {
      await apply(store, [
        create('p1', T0),
        attach('p1', userId('u1')),
        trait('p1', 'plan', 'gold', T0 + 20),
      ]);
      await apply(store, [trait('p1', 'plan', 'silver', T0 + 10), trait('p1', 'city', 'Leeds', T0 + 10)]);
      await apply(store, [trait('p1', 'city', 'York', T0 + 30)]);
      assert.deepEqual((await store.identity.getProfile('p1'))?.traits, {
        plan: { value: 'gold', ts: T0 + 20 },
        city: { value: 'York', ts: T0 + 30 },
      });
    });

    it('identity.getProfile: traits: on equal timestamps the later write wins, within a commit too', async (store) => {
      await apply(store, [create('p1', T0), trait('p1', 'plan', 'gold', T0)]);
      await apply(store, [trait('p1', 'plan', 'silver', T0)]);
      assert.deepEqual((await store.identity.getProfile('p1'))?.traits.plan, { value: 'silver', ts: T0 });
      await apply(store, [trait('p1', 'plan', 'bronze', T0 + 1), trait('p1', 'plan', 'iron', T0 + 1)]);
      assert.deepEqual((await store.identity.getProfile('p1'))?.traits.plan, { value: 'iron', ts: T0 + 1 });
    });

    it('identity.getProfile: trait values round-trip as JSON', async (store) => {
      const values: Record<string, unknown> = {
        text: 'Zoë 東京 🛒',
        number: 12.5,
        zero: 0,
        yes: true,
        nothing: null,
        list: [1, 'two', { three: 3 }],
        object: { address: { city: 'Leeds', lines: ['1 Park Row'] } },
      };
      await apply(store, [
        create('p1', T0),
        ...Object.entries(values).map(([k, v]) => trait('p1', k, v, T0)),
      ]);
      const traits = (await store.identity.getProfile('p1'))?.traits ?? {};
      assert.deepEqual(Object.fromEntries(Object.entries(traits).map(([k, t]) => [k, t.value])), values);
    });

    it('identity.getProfile: invalid emails and phones are counted per profile, each distinct value once', async (store) => {
      await apply(store, [
        create('p1', T0),
        invalid('p1', 'email', 'not an email'),
        invalid('p1', 'email', 'also@bad'),
        invalid('p1', 'phone', '123'),
        create('p2', T0),
        invalid('p2', 'phone', '123'),
      ]);
      await apply(store, [invalid('p1', 'email', 'not an email')]);
      assert.deepEqual((await store.identity.getProfile('p1'))?.invalid, { email: 2, phone: 1 });
      assert.deepEqual((await store.identity.getProfile('p2'))?.invalid, { email: 0, phone: 1 });
    });
  });

  describe('identity atomicity', () => {
    const failing = (): IdentityOp[] => [
      create('p1', T0),
      attach('p1', userId('u1')),
      trait('p1', 'plan', 'gold', T0),
      create('p2', T0),
      attach('p2', userId('u1')), // already owned by p1
    ];

    it('identity.commit that fails part-way applies nothing and leaves the cursor', async (store) => {
      await store.identity.commit([], 'processor', 0, 4);
      await assert.rejects(store.identity.commit(failing(), 'processor', 4, 8));
      assert.equal(await store.cursors.get('processor'), 4);
      assert.equal(await store.identity.getProfile('p1'), undefined);
      assert.equal(await store.identity.getProfile('p2'), undefined);
      assert.equal(await store.identity.findProfile(userId('u1')), undefined);
      await store.identity.commit([create('p1', T0)], 'processor', 4, 8);
      assert.equal((await store.identity.getProfile('p1'))?.id, 'p1', 'the store is usable afterwards');
    });

    it('identity.commit: creating a profile id twice fails', async (store) => {
      await apply(store, [create('p1', T0)]);
      await assert.rejects(apply(store, [create('p1', T0 + 1)]));
      assert.equal((await store.identity.getProfile('p1'))?.createdAt, T0);
    });

    it('identity.commit: failures are rejected promises, never synchronous throws', async (store) => {
      let pending: Promise<void> | undefined;
      assert.doesNotThrow(() => {
        pending = store.identity.commit(failing(), 'processor', 0, 1);
      });
      await assert.rejects(pending!);
      assert.doesNotThrow(() => {
        pending = store.identity.commit([], 'processor', 5, 6);
      });
      await assert.rejects(pending!, CursorMovedError);
    });
  });
}
