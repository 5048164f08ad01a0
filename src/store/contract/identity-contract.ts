import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ProfileView } from '../../identity/model.ts';
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

/** Profiles: identifiers, traits and lookups, committed with the cursor. */
export function identityContract(it: StoreTest): void {
  describe('profiles', () => {
    it('a profile is found by every identifier it holds and by its id', async (store) => {
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

    it('unknown identifiers and ids find nothing', async (store) => {
      await apply(store, [create('p1', T0), attach('p1', userId('u1'))]);
      assert.equal(await store.identity.findProfile(userId('u2')), undefined);
      assert.equal(
        await store.identity.findProfile(anonymousId('u1')),
        undefined,
        'the kind is part of the key',
      );
      assert.equal(await store.identity.getProfile('p2'), undefined);
    });

    it('snapshot lists each profile owning a key once, with all its identifiers', async (store) => {
      await apply(store, [
        create('p1', T0),
        attach('p1', userId('u1')),
        attach('p1', anonymousId('a1')),
        create('p2', T0 + 1),
        attach('p2', userId('u2')),
      ]);
      assert.deepEqual(await store.identity.snapshot([]), { profiles: [] });
      const { profiles } = await store.identity.snapshot([userId('u1'), anonymousId('a1'), userId('nobody')]);
      assert.deepEqual(
        profiles.map((p) => ({ ...p, identifiers: sorted(p.identifiers) })),
        [{ id: 'p1', createdAt: T0, identifiers: sorted([userId('u1'), anonymousId('a1')]) }],
      );
    });

    it('traits: the latest event timestamp wins, whatever the order of arrival', async (store) => {
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

    it('traits: on equal timestamps the later write wins', async (store) => {
      await apply(store, [create('p1', T0), trait('p1', 'plan', 'gold', T0)]);
      await apply(store, [trait('p1', 'plan', 'silver', T0)]);
      assert.deepEqual((await store.identity.getProfile('p1'))?.traits.plan, { value: 'silver', ts: T0 });
    });

    it('trait values round-trip as JSON', async (store) => {
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

    it('invalid emails and phones are counted per profile, each distinct value once', async (store) => {
      await apply(store, [
        create('p1', T0),
        invalid('p1', 'email', 'not an email'),
        invalid('p1', 'email', 'also@bad'),
        invalid('p1', 'phone', '123'),
      ]);
      await apply(store, [invalid('p1', 'email', 'not an email')]);
      assert.deepEqual((await store.identity.getProfile('p1'))?.invalid, { email: 2, phone: 1 });
    });
  });
}
