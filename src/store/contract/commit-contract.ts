import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentityOp } from '../../identity/model.ts';
import { CursorMovedError } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import { T0, userId, create, attach, trait, apply } from './fixtures.ts';

/** Atomicity: a commit applies everything or nothing, and fails as a rejected promise. */
export function commitContract(it: StoreTest): void {
  describe('atomicity', () => {
    const failing = (): IdentityOp[] => [
      create('p1', T0),
      attach('p1', userId('u1')),
      trait('p1', 'plan', 'gold', T0),
      create('p2', T0),
      attach('p2', userId('u1')), // already owned by p1
    ];

    it('a commit that fails part-way applies nothing and leaves the cursor', async (store) => {
      await store.identity.commit([], 'processor', 0, 4);
      await assert.rejects(store.identity.commit(failing(), 'processor', 4, 8));
      assert.equal(await store.cursors.get('processor'), 4);
      assert.equal(await store.identity.getProfile('p1'), undefined);
      assert.equal(await store.identity.getProfile('p2'), undefined);
      assert.equal(await store.identity.findProfile(userId('u1')), undefined);
      await store.identity.commit([create('p1', T0)], 'processor', 4, 8);
      assert.equal((await store.identity.getProfile('p1'))?.id, 'p1', 'the store is usable afterwards');
    });

    it('creating a profile id twice fails', async (store) => {
      await apply(store, [create('p1', T0)]);
      await assert.rejects(apply(store, [create('p1', T0 + 1)]));
      assert.equal((await store.identity.getProfile('p1'))?.createdAt, T0);
    });

    it('failures are rejected promises, never synchronous throws', async (store) => {
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
