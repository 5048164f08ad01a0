import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreTest } from './fixtures.ts';
import {
  T0,
  apply,
  attach,
  change,
  create,
  email,
  enter,
  exit,
  logEvents,
  membership,
  messageIds,
  track,
  userId,
  write,
} from './fixtures.ts';

const HOUR = 3_600_000;

/** The admin API's questions about audiences, members and events. */
export function adminContract(it: StoreTest): void {
  describe('admin queries', () => {
    it('admin.memberCounts: members and held-out members of every audience with any', async (store) => {
      assert.deepEqual(await store.admin.memberCounts(), []);
      await enter(store, membership('b', 'p1', T0, true));
      await enter(store, membership('a', 'p1', T0));
      await enter(store, membership('a', 'p2', T0, true));
      await enter(store, membership('a', 'p3', T0));
      await enter(store, membership('c', 'p3', T0));
      await exit(store, 'c', 'p3', T0 + 1);
      const counts = await store.admin.memberCounts();
      assert.deepEqual(
        [...counts].sort((x, y) => x.audience.localeCompare(y.audience)),
        [
          { audience: 'a', members: 3, heldOut: 1 },
          { audience: 'b', members: 1, heldOut: 1 },
        ],
      );
    });

    it('admin.changeBuckets: enters and exits at or after `since` per bucket from the epoch, oldest first', async (store) => {
      assert.deepEqual(await store.admin.changeBuckets(undefined, 0, HOUR), []);
      await write(store, {
        changes: [
          change('a', 'p1', 'enter', T0 - 1),
          change('a', 'p1', 'enter', T0),
          change('a', 'p2', 'enter', T0 + HOUR - 1, { heldOut: true }),
          change('b', 'p1', 'enter', T0 + 10),
          change('a', 'p1', 'exit', T0 + 3 * HOUR),
        ],
      });
      assert.deepEqual(await store.admin.changeBuckets('a', T0, HOUR), [
        { at: T0, enters: 2, exits: 0 },
        { at: T0 + 3 * HOUR, enters: 0, exits: 1 },
      ]);
      assert.deepEqual(await store.admin.changeBuckets(undefined, T0, HOUR), [
        { at: T0, enters: 3, exits: 0 },
        { at: T0 + 3 * HOUR, enters: 0, exits: 1 },
      ]);
      assert.deepEqual(
        await store.admin.changeBuckets('a', T0 + 1, HOUR),
        [
          { at: T0, enters: 1, exits: 0 },
          { at: T0 + 3 * HOUR, enters: 0, exits: 1 },
        ],
        'a bucket starts on a multiple of its width, not at `since`',
      );
      assert.deepEqual(await store.admin.changeBuckets('a', T0 - HOUR, 24 * HOUR), [
        { at: T0 - 24 * HOUR, enters: 1, exits: 0 },
        { at: T0, enters: 2, exits: 1 },
      ]);
      assert.deepEqual(await store.admin.changeBuckets('none', 0, HOUR), []);
    });

    it('admin.sampleMembers: newest members first, ties by profile id, labelled by email or userId', async (store) => {
      await apply(store, [
        create('p1'),
        attach('p1', userId('u1')),
        attach('p1', email('ann@example.com', 'ann+news@example.com'), T0 + 1),
        create('p2'),
        attach('p2', userId('u2')),
        create('p3'),
        create('p4'),
        attach('p4', email('b@example.com'), T0),
        attach('p4', email('a@example.com'), T0 + 5),
      ]);
      await enter(store, membership('a', 'p1', T0 + 1));
      await enter(store, membership('a', 'p2', T0 + 3, true));
      await enter(store, membership('a', 'p3', T0 + 2));
      await enter(store, membership('a', 'p4', T0 + 1));
      await enter(store, membership('b', 'p9', T0 + 9));
      assert.deepEqual(await store.admin.sampleMembers('a', 10), [
        { profileId: 'p2', since: T0 + 3, heldOut: true, label: 'u2' },
        { profileId: 'p3', since: T0 + 2, heldOut: false, label: undefined },
        { profileId: 'p1', since: T0 + 1, heldOut: false, label: 'ann+news@example.com' },
        { profileId: 'p4', since: T0 + 1, heldOut: false, label: 'b@example.com' },
      ]);
      assert.deepEqual(
        (await store.admin.sampleMembers('a', 2)).map((m) => m.profileId),
        ['p2', 'p3'],
      );
      assert.deepEqual(await store.admin.sampleMembers('none', 10), []);
    });

    it('admin.recentEvents: a profile’s newest events first, at most `limit`', async (store) => {
      await logEvents(store, 'p1', [track(1), track(2)], T0);
      await logEvents(store, 'p2', [track(3, { userId: 'u2' })], T0);
      await logEvents(store, 'p1', [track(4)]);
      assert.deepEqual(messageIds(await store.admin.recentEvents('p1', 10)), ['m4', 'm2', 'm1']);
      assert.deepEqual(messageIds(await store.admin.recentEvents('p1', 2)), ['m4', 'm2']);
      assert.deepEqual((await store.admin.recentEvents('p1', 1))[0]?.message, track(4).message);
      assert.deepEqual(await store.admin.recentEvents('nobody', 10), []);
    });

    it('admin.overlap: members in both audiences, for every pair (a < b) that shares any', async (store) => {
      assert.deepEqual(await store.admin.overlap(), []);
      for (const [audience, profileId] of [
        ['a', 'p1'],
        ['a', 'p2'],
        ['b', 'p1'],
        ['b', 'p2'],
        ['c', 'p2'],
        ['d', 'p3'],
      ] as const) {
        await enter(store, membership(audience, profileId, T0, profileId === 'p2' && audience === 'c'));
      }
      assert.deepEqual(await store.admin.overlap(), [
        { a: 'a', b: 'b', members: 2 },
        { a: 'a', b: 'c', members: 1 },
        { a: 'b', b: 'c', members: 1 },
      ]);
    });
  });
}
