import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { CursorMovedError } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import { T0, track, userId, create, attach, trait } from './fixtures.ts';

/** Cursors: durable positions, moved only by a commit that finds them where it expects. */
export function cursorContract(it: StoreTest): void {
  describe('cursors', () => {
    it('start at 0 and appending events does not move them', async (store) => {
      assert.equal(await store.cursors.get('processor'), 0);
      await store.events.append([track(1), track(2)]);
      assert.equal(await store.cursors.get('processor'), 0);
    });

    it('move only through identity.commit, each by its own name', async (store) => {
      await store.identity.commit([], 'processor', 0, 3);
      assert.equal(await store.cursors.get('processor'), 3);
      assert.equal(await store.cursors.get('other'), 0);
      await store.identity.commit([], 'processor', 3, 7);
      await store.identity.commit([], 'other', 0, 1);
      assert.equal(await store.cursors.get('processor'), 7);
      assert.equal(await store.cursors.get('other'), 1);
    });

    for (const stale of [0, 9]) {
      it(`a commit from a stale position (${stale}) throws CursorMovedError and applies nothing`, async (store) => {
        await store.identity.commit([], 'processor', 0, 5);
        const ops = [create('p1', T0), attach('p1', userId('u1')), trait('p1', 'plan', 'gold', T0)];
        const error: unknown = await store.identity.commit(ops, 'processor', stale, 10).then(
          () => assert.fail('the commit was accepted'),
          (e: unknown) => e,
        );
        assert.ok(error instanceof CursorMovedError, `got ${String(error)}`);
        assert.equal(error.cursorName, 'processor');
        assert.equal(error.expected, stale);
        assert.equal(error.actual, 5);
        assert.equal(await store.cursors.get('processor'), 5);
        assert.equal(await store.identity.getProfile('p1'), undefined);
        assert.equal(await store.identity.findProfile(userId('u1')), undefined);
      });
    }
  });
}
