import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckSample } from '../../monitor/ports.ts';
import type { StoreTest } from './fixtures.ts';
import { T0, apply, change, create, enter, exit, logEvents, membership, track, write } from './fixtures.ts';

const sample = (at: number, value: number, over: Partial<CheckSample> = {}): CheckSample => ({
  check: 'size',
  audience: 'a',
  destination: '',
  at,
  value,
  ...over,
});
const wake = (profileId: string, wakeAt: number | null) => ({
  profileId,
  state: { v: 1 as const, trackers: {} },
  wakeAt,
});

/** Check samples and the read models over events, memberships and changes. */
export function monitorContract(it: StoreTest): void {
  describe('monitor', () => {
    it('monitor.record, monitor.series: one series at or after `since`, oldest first', async (store) => {
      assert.deepEqual(await store.monitor.series('size', 'a', '', 0), []);
      await store.monitor.record([
        sample(T0 + 20, 3),
        sample(T0, 1.5),
        sample(T0 + 10, 2, { audience: 'b' }),
        sample(T0 + 10, 9, { check: 'dead_letters', destination: 'cordial' }),
        sample(T0 + 10, 2),
      ]);
      await store.monitor.record([]);
      assert.deepEqual(await store.monitor.series('size', 'a', '', 0), [
        { at: T0, value: 1.5 },
        { at: T0 + 10, value: 2 },
        { at: T0 + 20, value: 3 },
      ]);
      assert.deepEqual(await store.monitor.series('size', 'a', '', T0 + 10), [
        { at: T0 + 10, value: 2 },
        { at: T0 + 20, value: 3 },
      ]);
      assert.deepEqual(await store.monitor.series('dead_letters', 'a', 'cordial', 0), [
        { at: T0 + 10, value: 9 },
      ]);
      assert.deepEqual(await store.monitor.series('dead_letters', 'a', '', 0), []);
      assert.deepEqual(await store.monitor.series('size', 'b', '', 0), [{ at: T0 + 10, value: 2 }]);
    });

    it('monitor.prune drops samples older than the moment and returns how many', async (store) => {
      await store.monitor.record([sample(T0, 1), sample(T0 + 10, 2), sample(T0 + 5, 3, { audience: 'b' })]);
      assert.equal(await store.monitor.prune(T0), 0);
      assert.equal(await store.monitor.prune(T0 + 10), 2);
      assert.deepEqual(await store.monitor.series('size', 'a', '', 0), [{ at: T0 + 10, value: 2 }]);
      assert.deepEqual(await store.monitor.series('size', 'b', '', 0), []);
    });

    it('monitor.audienceCounts: members and held-out members of every audience with any, by audience', async (store) => {
      assert.deepEqual(await store.monitor.audienceCounts(), []);
      await enter(store, membership('b', 'p1', T0));
      await enter(store, membership('a', 'p1', T0));
      await enter(store, membership('a', 'p2', T0, true));
      await enter(store, membership('a', 'p3', T0));
      await enter(store, membership('c', 'p1', T0));
      await exit(store, 'c', 'p1', T0 + 1);
      assert.deepEqual(await store.monitor.audienceCounts(), [
        { audience: 'a', members: 3, heldOut: 1 },
        { audience: 'b', members: 1, heldOut: 0 },
      ]);
    });

    it('monitor.overstayed: members since before each audience’s moment; 0 for an audience with none', async (store) => {
      await enter(store, membership('a', 'p1', T0));
      await enter(store, membership('a', 'p2', T0 + 10, true));
      await enter(store, membership('a', 'p3', T0 + 20));
      await enter(store, membership('b', 'p1', T0 + 5));
      const result = await store.monitor.overstayed(
        new Map([
          ['a', T0 + 20],
          ['b', T0 + 5],
          ['none', T0 + 100],
        ]),
      );
      assert.deepEqual(
        result,
        new Map([
          ['a', 2],
          ['b', 0],
          ['none', 0],
        ]),
      );
      assert.deepEqual(await store.monitor.overstayed(new Map()), new Map());
    });

    it('monitor.wakeups: pending wake-ups, and those at or before the overdue moment', async (store) => {
      assert.deepEqual(await store.monitor.wakeups(T0), { pending: 0, overdue: 0 });
      await write(store, {
        states: [wake('p1', T0 - 5), wake('p2', T0), wake('p3', T0 + 5), wake('p4', null)],
      });
      assert.deepEqual(await store.monitor.wakeups(T0), { pending: 3, overdue: 2 });
      assert.deepEqual(await store.monitor.wakeups(T0 - 100), { pending: 3, overdue: 0 });
      await store.quarantine.dropWakeup('p1');
      assert.deepEqual(await store.monitor.wakeups(T0), { pending: 2, overdue: 1 });
    });

    it('monitor.eventAfter: the offset and receive time of the first event after an offset', async (store) => {
      assert.equal(await store.monitor.eventAfter(0), undefined);
      await store.events.append([track(1), track(2)]);
      const [e1, e2] = await store.events.readAfter(0, 2);
      assert.deepEqual(await store.monitor.eventAfter(0), { offset: e1!.offset, receivedAt: T0 + 501 });
      assert.deepEqual(await store.monitor.eventAfter(e1!.offset), {
        offset: e2!.offset,
        receivedAt: T0 + 502,
      });
      assert.equal(await store.monitor.eventAfter(e2!.offset), undefined);
    });

    it('monitor.changeCounts: enters and exits per audience in [since, until), by audience', async (store) => {
      await write(store, {
        changes: [
          change('b', 'p1', 'enter', T0),
          change('a', 'p1', 'enter', T0 - 1),
          change('a', 'p2', 'enter', T0 + 1, { heldOut: true }),
          change('a', 'p1', 'exit', T0 + 2),
          change('a', 'p3', 'enter', T0 + 10),
        ],
      });
      assert.deepEqual(await store.monitor.changeCounts(T0, T0 + 10), [
        { audience: 'a', enters: 1, exits: 1 },
        { audience: 'b', enters: 1, exits: 0 },
      ]);
      assert.deepEqual(await store.monitor.changeCounts(T0 + 11, T0 + 20), []);
    });

    it('monitor.conversions: per audience and group, who entered since and performed the event after entering', async (store) => {
      const order = (n: number, ts: number, userId: string, over = {}) =>
        track(n, { name: 'Order Completed', timestamp: ts, userId, ...over });
      await logEvents(store, 'p1', [order(1, T0 + 20, 'u1')], T0);
      await logEvents(
        store,
        'p2',
        [order(2, T0 + 5, 'u2'), track(3, { userId: 'u2', timestamp: T0 + 30 })],
        T0,
      );
      await logEvents(store, 'p3', [order(4, T0 + 30, 'u3')], T0);
      await logEvents(store, 'p4', [order(5, T0 + 30, 'u4')], T0);
      await logEvents(store, 'p5', [order(6, T0 + 30, 'u5', { type: 'page' })], T0);
      await apply(store, [create('p6')]);
      await enter(store, membership('a', 'p1', T0 + 10));
      await exit(store, 'a', 'p1', T0 + 40);
      await enter(store, membership('a', 'p1', T0 + 50));
      await enter(store, membership('a', 'p2', T0 + 10));
      await enter(store, membership('a', 'p3', T0 + 10, true));
      await enter(store, membership('a', 'p4', T0 - 100, true));
      await enter(store, membership('a', 'p5', T0 + 10));
      await enter(store, membership('b', 'p6', T0 + 10, true));
      assert.deepEqual(await store.monitor.conversions('Order Completed', T0), [
        { audience: 'a', treated: 3, treatedConverted: 1, heldOut: 1, heldOutConverted: 1 },
        { audience: 'b', treated: 0, treatedConverted: 0, heldOut: 1, heldOutConverted: 0 },
      ]);
      assert.deepEqual(await store.monitor.conversions('Order Completed', T0 + 1000), []);
      assert.deepEqual(await store.monitor.conversions('Signed Up', T0), [
        { audience: 'a', treated: 3, treatedConverted: 0, heldOut: 1, heldOutConverted: 0 },
        { audience: 'b', treated: 0, treatedConverted: 0, heldOut: 1, heldOutConverted: 0 },
      ]);
    });

    it('monitor.watermarks, monitor.tallies: events stored after the watermark, by source and type', async (store) => {
      assert.deepEqual(await store.monitor.watermarks(), { eventSeq: 0, logId: 0 });
      assert.deepEqual(await store.monitor.tallies(0, 0), {
        eventSeq: 0,
        logId: 0,
        stored: [],
        acknowledged: [],
      });
      await store.events.append([
        track(1),
        track(2),
        track(3, { type: 'identify', name: null }),
        track(4, { sourceId: 'ios' }),
      ]);
      const marks = await store.monitor.watermarks();
      assert.equal(marks.eventSeq, await store.events.head());
      assert.equal(marks.logId, 0);
      const all = await store.monitor.tallies(0, 0);
      assert.deepEqual([all.eventSeq, all.logId, all.acknowledged], [marks.eventSeq, 0, []]);
      assert.deepEqual(
        [...all.stored].sort((a, b) => `${a.source}${a.type}`.localeCompare(`${b.source}${b.type}`)),
        [
          { source: 'ios', type: 'track', count: 1 },
          { source: 'web', type: 'identify', count: 1 },
          { source: 'web', type: 'track', count: 2 },
        ],
      );
      await store.events.append([track(5)]);
      const next = await store.monitor.tallies(marks.eventSeq, marks.logId);
      assert.equal(next.eventSeq, await store.events.head());
      assert.deepEqual(next.stored, [{ source: 'web', type: 'track', count: 1 }]);
      assert.deepEqual((await store.monitor.tallies(next.eventSeq, next.logId)).stored, []);
    });
  });
}
