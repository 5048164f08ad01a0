import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { CursorMovedError } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import { T0, attach, batch, change, create, membership, rejection, track, userId } from './fixtures.ts';

const state = { v: 1 as const, trackers: { t1: 3 } };

/** A processor step as one atomic commit, and the store's own lifecycle. */
export function commitContract(it: StoreTest): void {
  describe('commit', () => {
    it('commit applies identity ops and audience writes together and moves the cursor', async (store) => {
      await store.commit(
        batch({
          cursor: { name: 'processor', from: 0, to: 4 },
          identity: [create('p1'), attach('p1', userId('u1'))],
          audiences: {
            states: [{ profileId: 'p1', state, wakeAt: T0 + 50 }],
            entered: [membership('a', 'p1', T0)],
            exited: [],
            changes: [change('a', 'p1', 'enter', T0)],
            scores: [{ conditionId: 'c1', profileId: 'p1', value: 7 }],
            dropped: [],
          },
        }),
      );
      assert.equal(await store.cursors.get('processor'), 4);
      assert.equal((await store.identity.findProfile(userId('u1')))?.id, 'p1');
      assert.deepEqual((await store.audiences.load(['p1'])).get('p1')?.state, state);
      assert.deepEqual(await store.audiences.members('a'), [membership('a', 'p1', T0)]);
      assert.equal((await store.audiences.changesAfter(0, 10)).length, 1);
      assert.deepEqual(await store.audiences.scoredAtLeast('c1', 7), ['p1']);
      assert.equal(await store.audiences.nextWakeAt(), T0 + 50);
    });

    it('commit without a cursor moves none; a cursor whose from equals to is checked but stays', async (store) => {
      await store.commit(batch({ identity: [create('p1')] }));
      assert.equal(await store.cursors.get('processor'), 0);
      await store.commit(batch({ cursor: { name: 'processor', from: 0, to: 0 }, identity: [create('p2')] }));
      assert.equal(await store.cursors.get('processor'), 0);
      assert.ok(await store.identity.getProfile('p2'));
      const error = await rejection(
        store.commit(batch({ cursor: { name: 'processor', from: 1, to: 1 }, identity: [create('p3')] })),
      );
      assert.ok(error instanceof CursorMovedError);
      assert.equal(await store.identity.getProfile('p3'), undefined);
    });

    it('commit with a stale cursor applies none of its identity, audience or quarantine writes', async (store) => {
      await store.events.append([track(1)]);
      await store.commit(batch({ cursor: { name: 'processor', from: 0, to: 2 } }));
      const error = await rejection(
        store.commit(
          batch({
            cursor: { name: 'processor', from: 1, to: 3 },
            identity: [create('p1')],
            audiences: {
              states: [{ profileId: 'p1', state, wakeAt: T0 }],
              entered: [membership('a', 'p1', T0)],
              exited: [],
              changes: [change('a', 'p1', 'enter', T0)],
              scores: [{ conditionId: 'c1', profileId: 'p1', value: 7 }],
              dropped: [],
            },
            quarantine: {
              add: [
                {
                  event: { offset: 1, sourceId: 'web', messageId: 'm1', type: 'track' },
                  error: { errorClass: 'Error', code: 'processing_failed', message: 'x', frame: null },
                  at: T0,
                },
              ],
              claimed: [],
              released: [],
            },
          }),
        ),
      );
      assert.ok(error instanceof CursorMovedError);
      assert.deepEqual([error.cursorName, error.expected, error.actual], ['processor', 1, 2]);
      assert.equal(await store.cursors.get('processor'), 2);
      assert.equal(await store.identity.getProfile('p1'), undefined);
      assert.equal((await store.audiences.load(['p1'])).get('p1')?.state, undefined);
      assert.deepEqual(await store.audiences.members('a'), []);
      assert.deepEqual(await store.audiences.changesAfter(0, 10), []);
      assert.deepEqual(await store.audiences.scoredAtLeast('c1', 0), []);
      assert.equal(await store.audiences.nextWakeAt(), null);
      assert.equal(await store.quarantine.count(), 0);
    });

    it('commit checks every guard like the cursor: one moved refuses the whole batch', async (store) => {
      await store.commit(batch({ guards: [{ name: 'retries', from: 0, to: 1 }] }));
      assert.equal(await store.cursors.get('retries'), 1);
      await store.commit(
        batch({
          cursor: { name: 'processor', from: 0, to: 5 },
          guards: [{ name: 'retries', from: 1, to: 1 }],
        }),
      );
      assert.equal(await store.cursors.get('processor'), 5);
      assert.equal(await store.cursors.get('retries'), 1);
      const error = await rejection(
        store.commit(
          batch({
            cursor: { name: 'processor', from: 5, to: 9 },
            guards: [{ name: 'retries', from: 0, to: 2 }],
            identity: [create('p1')],
          }),
        ),
      );
      assert.ok(error instanceof CursorMovedError);
      assert.deepEqual([error.cursorName, error.expected, error.actual], ['retries', 0, 1]);
      assert.equal(await store.cursors.get('processor'), 5, 'the cursor did not move either');
      assert.equal(await store.cursors.get('retries'), 1);
      assert.equal(await store.identity.getProfile('p1'), undefined);
    });

    it('commit: of two concurrent commits from the same position, exactly one applies', async (store) => {
      const outcomes = await Promise.allSettled([
        store.commit(batch({ cursor: { name: 'processor', from: 0, to: 1 }, identity: [create('p1')] })),
        store.commit(batch({ cursor: { name: 'processor', from: 0, to: 2 }, identity: [create('p2')] })),
      ]);
      const applied = outcomes.filter((o) => o.status === 'fulfilled').length;
      assert.equal(applied, 1);
      const refused = outcomes.find((o) => o.status === 'rejected');
      assert.ok(refused?.reason instanceof CursorMovedError);
      const winner = outcomes[0].status === 'fulfilled' ? 'p1' : 'p2';
      const loser = winner === 'p1' ? 'p2' : 'p1';
      assert.equal(await store.cursors.get('processor'), winner === 'p1' ? 1 : 2);
      assert.ok(await store.identity.getProfile(winner));
      assert.equal(await store.identity.getProfile(loser), undefined);
    });
  });

  describe('store lifecycle', () => {
    it('readiness: a fresh store takes writes', async (store) => {
      assert.deepEqual(await store.readiness(), { ok: true });
      await store.events.append([track(1)]);
      assert.deepEqual(await store.readiness(), { ok: true });
    });
  });
}
