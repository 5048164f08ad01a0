import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreTest } from './fixtures.ts';
import {
  DEST,
  T0,
  desired,
  enter,
  itemOf,
  logEvents,
  membership,
  record,
  sendDue,
  sent,
  track,
  write,
  change,
} from './fixtures.ts';

/** The monitor's read models over the sync ledger and log. */
export function monitorSyncContract(it: StoreTest): void {
  describe('monitor over the sync ledger', () => {
    it('monitor.matchCounts: current non-held-out members whose item the destination acknowledged holding', async (store) => {
      assert.deepEqual(await store.monitor.matchCounts(DEST), []);
      await enter(store, membership('a', 'p1', T0));
      await enter(store, membership('a', 'p2', T0));
      await enter(store, membership('a', 'p3', T0, true));
      await enter(store, membership('b', 'p1', T0));
      await record(store, [
        desired('c1', 'a', true, { profileId: 'p1' }),
        desired('c2', 'a', true, { profileId: 'p2', dueAt: T0 + 100 }),
        desired('c3', 'a', true, { profileId: 'p3' }),
        desired('c4', 'a', true, { profileId: 'p4' }),
      ]);
      await sendDue(store, T0, 'ok');
      assert.deepEqual(await store.monitor.matchCounts(DEST), [{ audience: 'a', accepted: 1 }]);
      assert.deepEqual(await store.monitor.matchCounts('other'), []);
    });

    it('monitor.unacknowledgedExits: exits decided before the moment that are not done', async (store) => {
      await record(store, [desired('c1', 'a', true), desired('c2', 'a', true), desired('c3', 'b', true)]);
      await sendDue(store, T0, 'ok');
      await record(store, [
        desired('c1', 'a', false, { changedAt: T0 + 10 }),
        desired('c2', 'a', false, { changedAt: T0 + 20 }),
        desired('c3', 'b', false, { changedAt: T0 + 10 }),
        desired('c4', 'a', false, { changedAt: T0 }),
      ]);
      assert.deepEqual(
        await store.monitor.unacknowledgedExits(DEST, T0 + 20),
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      );
      assert.deepEqual(
        await store.monitor.unacknowledgedExits(DEST, T0 + 21),
        new Map([
          ['a', 2],
          ['b', 1],
        ]),
      );
      const [c1] = await store.sync.due(DEST, T0 + 20, 1);
      await store.sync.results(DEST, [sent(c1!, 'ok', T0 + 30)]);
      assert.deepEqual(
        await store.monitor.unacknowledgedExits(DEST, T0 + 21),
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      );
      assert.deepEqual(await store.monitor.unacknowledgedExits(DEST, T0), new Map());
      // A dead exit is still owed.
      const [c2] = await store.sync.due(DEST, T0 + 20, 1);
      await store.sync.results(DEST, [sent(c2!, 'dead', T0 + 31)]);
      assert.equal((await itemOf(store, 'c2', 'list-a')).state, 'dead');
      assert.deepEqual(await store.monitor.unacknowledgedExits(DEST, T0 + 21).then((m) => m.get('a')), 1);
    });

    it('monitor.deadCounts, monitor.queueDepth: dead items per audience; pending items and those waiting to retry', async (store) => {
      assert.deepEqual(await store.monitor.deadCounts(DEST), new Map());
      assert.deepEqual(await store.monitor.queueDepth(DEST), { pending: 0, retrying: 0 });
      await record(store, [
        desired('c1', 'a', true),
        desired('c2', 'a', true),
        desired('c3', 'b', true),
        desired('c4', 'b', true, { dueAt: T0 + 100 }),
        desired('c5', 'b', true),
      ]);
      assert.deepEqual(await store.monitor.queueDepth(DEST), { pending: 5, retrying: 0 });
      const [c1, c2, c3, c5] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [
        sent(c1!, 'dead', T0),
        sent(c2!, 'retry', T0),
        sent(c3!, 'dead', T0),
        sent(c5!, 'ok', T0),
      ]);
      assert.deepEqual(
        await store.monitor.deadCounts(DEST),
        new Map([
          ['a', 1],
          ['b', 1],
        ]),
      );
      assert.deepEqual(await store.monitor.queueDepth(DEST), { pending: 2, retrying: 1 });
      assert.deepEqual(await store.monitor.queueDepth('other'), { pending: 0, retrying: 0 });
      assert.deepEqual(await store.monitor.deadCounts('other'), new Map());
    });

    it('monitor.lastAcknowledged: when the destination last acknowledged a send, per audience', async (store) => {
      await record(store, [desired('c1', 'a', true), desired('c2', 'a', true), desired('c3', 'b', true)]);
      const [c1, c2, c3] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [
        sent(c1!, 'ok', T0 + 5),
        sent(c2!, 'ok', T0 + 3),
        sent(c3!, 'retry', T0 + 9),
      ]);
      assert.deepEqual(await store.monitor.lastAcknowledged(DEST), new Map([['a', T0 + 5]]));
      assert.deepEqual(await store.monitor.lastAcknowledged('other'), new Map());
    });

    it('monitor.tallies: time from an event’s receipt to the first acknowledgement of the change it caused', async (store) => {
      const [offset] = await logEvents(store, 'p1', [track(1)], T0);
      await write(store, {
        entered: [membership('a', 'p1', T0 + 600)],
        changes: [
          change('a', 'p1', 'enter', T0 + 600, {
            cause: { kind: 'event', offset: offset!, messageId: 'm1', event: 'Product Viewed' },
          }),
          change('b', 'p1', 'enter', T0 + 600),
        ],
      });
      const [byEvent, byWindow] = await store.audiences.changesAfter(0, 10);
      const marks = await store.monitor.watermarks();
      await record(store, [
        desired('c1', 'a', true, { profileId: 'p1', changeSeq: byEvent!.seq }),
        desired('c1', 'b', true, { profileId: 'p1', changeSeq: byWindow!.seq }),
      ]);
      await sendDue(store, T0 + 2501, 'ok');
      const first = await store.monitor.tallies(marks.eventSeq, marks.logId);
      assert.deepEqual(first.acknowledged, [{ destination: DEST, audience: 'a', ms: 2000 }]);
      assert.ok(first.logId > marks.logId);
      assert.deepEqual(first.stored, []);
      // A reassertion acknowledged again is not delivery latency.
      assert.equal(await store.sync.reassert(DEST, { audience: 'a' }), 1);
      await sendDue(store, T0 + 9000, 'ok');
      assert.equal((await itemOf(store, 'c1', 'list-a')).state, 'done');
      const second = await store.monitor.tallies(first.eventSeq, first.logId);
      assert.deepEqual(second.acknowledged, []);
      assert.ok(second.logId > first.logId);
    });
  });
}
