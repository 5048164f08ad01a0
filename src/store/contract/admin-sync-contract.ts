import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreTest } from './fixtures.ts';
import {
  DEST,
  T0,
  apply,
  attach,
  create,
  desired,
  email,
  enter,
  itemOf,
  membership,
  record,
  sendDue,
  sent,
  userId,
} from './fixtures.ts';

const MINUTE = 60_000;

/** The admin API's questions about sends and where members stand at a destination. */
export function adminSyncContract(it: StoreTest): void {
  describe('admin queries over the sync ledger', () => {
    it('admin.sendBuckets: send outcomes at or after `since` per bucket from the epoch, oldest first', async (store) => {
      assert.deepEqual(await store.admin.sendBuckets(DEST, 0, MINUTE), []);
      await record(store, [
        desired('c1', 'a', true),
        desired('c2', 'a', true),
        desired('c3', 'a', true),
        desired('c4', 'a', true),
      ]);
      const [c1, c2, c3, c4] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [
        sent(c1!, 'ok', T0 - 1),
        sent(c2!, 'retry', T0 + 1, { status: 429, nextAttemptAt: T0 + 2 }),
        sent(c3!, 'dead', T0 + MINUTE - 1),
        sent(c4!, 'retry', T0 + 5, { status: 503, nextAttemptAt: T0 + 2 }),
      ]);
      await sendDue(store, T0 + 2 * MINUTE, 'ok');
      assert.deepEqual(await store.admin.sendBuckets(DEST, T0, MINUTE), [
        { at: T0, ok: 0, retried: 2, dead: 1, rateLimited: 1 },
        { at: T0 + 2 * MINUTE, ok: 2, retried: 0, dead: 0, rateLimited: 0 },
      ]);
      assert.deepEqual(await store.admin.sendBuckets(DEST, T0 - MINUTE, 10 * MINUTE), [
        { at: T0 - 10 * MINUTE, ok: 1, retried: 0, dead: 0, rateLimited: 0 },
        { at: T0, ok: 2, retried: 2, dead: 1, rateLimited: 1 },
      ]);
      assert.deepEqual(await store.admin.sendBuckets('other', 0, MINUTE), []);
    });

    it('admin.lastSends: per audience, the last send and the last acknowledged one; a skipped dead letter is no send', async (store) => {
      assert.deepEqual(await store.admin.lastSends(DEST), []);
      await record(store, [
        desired('c1', 'a', true),
        desired('c2', 'a', true),
        desired('c3', 'b', true),
        desired('c4', 'c', true),
      ]);
      const [c1, c2, c3, c4] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [
        sent(c1!, 'ok', T0 + 5),
        sent(c2!, 'retry', T0 + 9),
        sent(c3!, 'dead', T0 + 7),
        sent(c4!, 'dead', T0 + 8),
      ]);
      // Given up on by an operator: a row in the ledger, but nothing was sent.
      assert.equal(await store.sync.skipDead(DEST, [c3!, c4!], T0 + 30, 'given up'), 2);
      const sends = await store.admin.lastSends(DEST);
      assert.deepEqual(
        [...sends].sort((x, y) => x.audience.localeCompare(y.audience)),
        [
          { audience: 'a', lastAt: T0 + 9, lastOkAt: T0 + 5 },
          { audience: 'b', lastAt: T0 + 7, lastOkAt: undefined },
          { audience: 'c', lastAt: T0 + 8, lastOkAt: undefined },
        ],
      );
      assert.deepEqual(await store.admin.lastSends('other'), []);
    });

    it('admin.acknowledged: acknowledged sends at or after `since`, newest first, with when the change happened', async (store) => {
      await enter(store, membership('a', 'p1', T0 + 1));
      await enter(store, membership('a', 'p2', T0 + 2));
      await enter(store, membership('b', 'p1', T0 + 3));
      const [ch1, ch2, ch3] = await store.audiences.changesAfter(0, 10);
      await record(store, [
        desired('c1', 'a', true, { changeSeq: ch1!.seq }),
        desired('c2', 'a', true, { changeSeq: ch2!.seq }),
        desired('c3', 'b', true, { changeSeq: ch3!.seq }),
      ]);
      const [c1, c2, c3] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [sent(c1!, 'ok', T0 + 10), sent(c2!, 'retry', T0 + 11)]);
      await store.sync.results(DEST, [sent(c3!, 'ok', T0 + 12)]);
      const [c2again] = await store.sync.due(DEST, T0 + 100_000, 10);
      await store.sync.results(DEST, [sent(c2again!, 'ok', T0 + 13)]);
      assert.deepEqual(await store.admin.acknowledged(DEST, T0, 10), [
        { audience: 'a', desired: true, changedAt: T0 + 2, at: T0 + 13 },
        { audience: 'b', desired: true, changedAt: T0 + 3, at: T0 + 12 },
        { audience: 'a', desired: true, changedAt: T0 + 1, at: T0 + 10 },
      ]);
      assert.deepEqual(
        (await store.admin.acknowledged(DEST, T0 + 11, 1)).map((r) => r.at),
        [T0 + 13],
      );
      assert.deepEqual(await store.admin.acknowledged(DEST, T0 + 14, 10), []);
      assert.deepEqual(await store.admin.acknowledged('other', 0, 10), []);
    });

    it('admin.memberStanding: held out, refused, held, no identifier or pending; newest first', async (store) => {
      await apply(store, [
        create('p1'),
        attach('p1', email('ann@example.com')),
        create('p3'),
        attach('p3', userId('u3')),
      ]);
      const members = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
      for (const [i, p] of members.entries()) await enter(store, membership('a', p, T0 + i, p === 'p1'));
      await enter(store, membership('b', 'p3', T0));
      await enter(store, membership('b', 'p5', T0));
      await record(
        store,
        [
          desired('c1', 'a', true, { profileId: 'p1' }),
          desired('c2', 'a', true, { profileId: 'p2' }),
          desired('c3', 'a', true, { profileId: 'p3' }),
          desired('c3', 'b', true, { profileId: 'p3' }),
          desired('c6', 'a', true, { profileId: 'p6', dueAt: T0 + 1000 }),
          // One of p7's two items is held, the other refused: refused wins.
          desired('c7', 'a', true, { profileId: 'p7' }),
          desired('c7', 'a', true, { profileId: 'p7', list: 'list-a2' }),
          desired('c5', 'b', true, { profileId: 'p5' }),
        ],
        [{ audience: 'a', profileId: 'p4', reason: 'no email', at: T0 }],
      );
      const due = await store.sync.due(DEST, T0, 10);
      await store.sync.results(
        DEST,
        due.map((i) => {
          const refused = i.contact === 'c1' || i.contact === 'c2' || i.list === 'list-a2';
          return sent(i, refused ? 'dead' : 'ok', T0 + 1);
        }),
      );
      assert.deepEqual(await store.admin.memberStanding(DEST, 'a'), [
        { profileId: 'p7', label: undefined, since: T0 + 6, standing: 'refused' },
        { profileId: 'p6', label: undefined, since: T0 + 5, standing: 'pending' },
        { profileId: 'p5', label: undefined, since: T0 + 4, standing: 'pending' },
        { profileId: 'p4', label: undefined, since: T0 + 3, standing: 'no_identifier' },
        { profileId: 'p3', label: 'u3', since: T0 + 2, standing: 'held' },
        { profileId: 'p2', label: undefined, since: T0 + 1, standing: 'refused' },
        { profileId: 'p1', label: 'ann@example.com', since: T0, standing: 'held_out' },
      ]);
      assert.deepEqual(
        (await store.admin.memberStanding(DEST, 'a', 'b')).map((m) => [m.profileId, m.standing]),
        [
          ['p5', 'pending'],
          ['p3', 'held'],
        ],
      );
      assert.deepEqual(
        (await store.admin.memberStanding('other', 'a')).map((m) => m.standing),
        ['pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'held_out'],
      );
      assert.deepEqual(await store.admin.memberStanding(DEST, 'none'), []);
    });

    it('admin.listsOf: a profile’s (contact, list) items at the destination, by list, and whether they are held', async (store) => {
      await record(store, [
        desired('c1', 'b', true, { profileId: 'p1' }),
        desired('c1', 'a', true, { profileId: 'p1' }),
        desired('c1', 'c', false, { profileId: 'p1' }),
        desired('c2', 'a', true, { profileId: 'p2' }),
      ]);
      await store.sync.results(DEST, [sent(await itemOf(store, 'c1', 'list-a'), 'ok', T0)]);
      assert.deepEqual(await store.admin.listsOf(DEST, 'p1'), [
        { audience: 'a', list: 'list-a', contact: 'c1', wanted: true, held: true, state: 'done' },
        { audience: 'b', list: 'list-b', contact: 'c1', wanted: true, held: false, state: 'pending' },
        { audience: 'c', list: 'list-c', contact: 'c1', wanted: false, held: false, state: 'done' },
      ]);
      assert.deepEqual(await store.admin.listsOf(DEST, 'nobody'), []);
      assert.deepEqual(await store.admin.listsOf('other', 'p1'), []);
    });
  });
}
