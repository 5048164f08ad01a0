import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { FailureRecord, QuarantineWrites, Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { emptyWrites } from '../../engine/model.ts';
import type { StoreTest } from './fixtures.ts';
import { T0, apply, create, logEvents, remove, withoutOffset, write } from './fixtures.ts';

const event = (n: number): IncomingEvent => ({
  sourceId: 'web',
  messageId: `q${n}`,
  type: 'identify',
  userId: 'u1',
  anonymousId: null,
  name: null,
  timestamp: T0 + n,
  receivedAt: T0 + n,
  message: { type: 'identify', userId: 'u1', messageId: `q${n}` },
});
const failure: FailureRecord = {
  errorClass: 'RangeError',
  code: 'processing_failed',
  message: 'Maximum call stack size exceeded',
  frame: 'at JSON.stringify (<anonymous>)',
};
const add = (offset: number, at = T0): QuarantineWrites['add'][number] => ({
  event: { offset, sourceId: 'web', messageId: `q${offset}`, type: 'identify' },
  error: failure,
  at,
});
const step = (store: Store, from: number, to: number, quarantine: Partial<QuarantineWrites>) =>
  store.commit({
    cursor: { name: 'processor', from, to },
    identity: [],
    audiences: emptyWrites(),
    quarantine: { add: [], claimed: [], released: [], ...quarantine },
  });

/** The quarantine port's contract. */
export function quarantineContract(it: StoreTest): void {
  describe('quarantine', () => {
    it('quarantine.list, quarantine.count: an event quarantined with a batch is listed with its error, and the cursor moved with it', async (store) => {
      await store.events.append([event(1), event(2), event(3)]);
      assert.equal(await store.quarantine.count(), 0);
      assert.deepEqual(await store.quarantine.list(), []);
      await step(store, 0, 3, { add: [add(2, T0 + 5)] });
      assert.equal(await store.cursors.get('processor'), 3);
      assert.equal(await store.quarantine.count(), 1);
      assert.deepEqual(await store.quarantine.list(), [
        {
          offset: 2,
          sourceId: 'web',
          messageId: 'q2',
          type: 'identify',
          error: failure,
          quarantinedAt: T0 + 5,
          attempts: 1,
          retryRequested: false,
        },
      ]);
    });

    it('quarantine.list: in offset order, at most `limit`; an error without a frame keeps null', async (store) => {
      await store.events.append([event(1), event(2), event(3)]);
      await step(store, 0, 3, { add: [add(3), add(1), { ...add(2), error: { ...failure, frame: null } }] });
      assert.deepEqual(
        (await store.quarantine.list()).map((q) => q.offset),
        [1, 2, 3],
      );
      assert.deepEqual(
        (await store.quarantine.list(2)).map((q) => q.offset),
        [1, 2],
      );
      assert.equal((await store.quarantine.list())[1]?.error.frame, null);
      assert.equal(await store.quarantine.count(), 3);
    });

    it('quarantine.count: a batch that fails its cursor check quarantines nothing', async (store) => {
      await store.events.append([event(1)]);
      await assert.rejects(step(store, 5, 6, { add: [add(1)] }), CursorMovedError);
      assert.equal(await store.quarantine.count(), 0);
    });

    it('quarantine.requestRetry, quarantine.marked: a retry marks rows; the commit that claims them clears the mark, once', async (store) => {
      await store.events.append([event(1), event(2), event(3)]);
      await step(store, 0, 3, { add: [add(1), add(2), add(3)] });
      assert.equal(
        await store.quarantine.requestRetry([2, 99]),
        1,
        'an offset not quarantined is not counted',
      );
      assert.equal(await store.quarantine.requestRetry([2]), 1, 'asking again is not an error');
      assert.equal(await store.quarantine.requestRetry([]), 0);
      assert.deepEqual(
        (await store.quarantine.marked(10)).map((m) => [m.offset, m.event?.messageId]),
        [[2, 'q2']],
      );
      // Processed on retry: it leaves the quarantine.
      await step(store, 3, 3, { claimed: [2], released: [2] });
      assert.deepEqual(
        (await store.quarantine.list()).map((r) => r.offset),
        [1, 3],
      );
      assert.deepEqual(await store.quarantine.marked(10), []);
      // A second processor claiming the same row finds it taken: nothing of its commit applies.
      await store.quarantine.requestRetry([3]);
      await step(store, 3, 3, { claimed: [3], add: [add(3, T0 + 9)] });
      await assert.rejects(step(store, 3, 3, { claimed: [3], released: [3] }), CursorMovedError);
      const [one, three] = await store.quarantine.list();
      assert.equal(one?.attempts, 1);
      assert.equal(three?.attempts, 2, 'failed again: attempts + 1');
      assert.equal(three?.quarantinedAt, T0 + 9);
      assert.equal(three?.retryRequested, false);
      assert.equal(await store.quarantine.requestRetry('all'), 2);
      assert.deepEqual(
        (await store.quarantine.list()).map((r) => r.retryRequested),
        [true, true],
      );
    });

    it('quarantine.marked: oldest first, at most `limit`, with the logged event; undefined once it is deleted', async (store) => {
      const offsets = await logEvents(store, 'p1', [event(1), event(2), event(3)], T0);
      await step(store, 0, 1, { add: offsets.map((o) => add(o)) });
      assert.equal(await store.quarantine.requestRetry('all'), 3);
      const marked = await store.quarantine.marked(2);
      assert.deepEqual(
        marked.map((m) => m.offset),
        offsets.slice(0, 2),
      );
      assert.deepEqual(marked[0]?.event && withoutOffset(marked[0].event), event(1));
      assert.equal(marked[0]?.event?.offset, offsets[0]);
      await apply(store, [remove('p1', T0 + 10)]);
      assert.deepEqual(
        await store.quarantine.marked(10),
        offsets.map((offset) => ({ offset, event: undefined })),
      );
    });

    it('quarantine.dropWakeup clears one profile’s pending wake-up and no other', async (store) => {
      await store.quarantine.dropWakeup('nobody');
      assert.equal(await store.audiences.nextWakeAt(), null);
      await apply(store, [create('p1'), create('p2')]);
      const state = { v: 1 as const, trackers: { t: 1 } };
      await write(store, {
        states: [
          { profileId: 'p1', state, wakeAt: T0 + 5 },
          { profileId: 'p2', state, wakeAt: T0 + 9 },
        ],
      });
      await store.quarantine.dropWakeup('p1');
      assert.equal(await store.audiences.nextWakeAt(), T0 + 9);
      assert.deepEqual(await store.audiences.due(T0 + 100, 10), ['p2']);
      assert.deepEqual((await store.audiences.load(['p1'])).get('p1')?.state, state, 'its state stays');
    });
  });
}
