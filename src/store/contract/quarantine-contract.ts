import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { FailureRecord, QuarantineWrites, Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { emptyWrites } from '../../engine/model.ts';

const T0 = Date.UTC(2025, 0, 1);
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

/** The quarantine port's contract; `it` runs a test against a fresh store. */
export function quarantineContract(it: (title: string, body: (store: Store) => Promise<void>) => void): void {
  describe('quarantine', () => {
    it('an event quarantined with a batch is listed with its error, and the cursor moved with it', async (store) => {
      await store.events.append([event(1), event(2), event(3)]);
      assert.equal(await store.quarantine.count(), 0);
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

    it('a batch that fails its cursor check quarantines nothing', async (store) => {
      await store.events.append([event(1)]);
      await assert.rejects(step(store, 5, 6, { add: [add(1)] }), CursorMovedError);
      assert.equal(await store.quarantine.count(), 0);
    });

    it('a retry marks rows; the commit that claims them clears the mark, once', async (store) => {
      await store.events.append([event(1), event(2), event(3)]);
      await step(store, 0, 3, { add: [add(1), add(2), add(3)] });
      assert.equal(
        await store.quarantine.requestRetry([2, 99]),
        1,
        'an offset not quarantined is not counted',
      );
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

    it('dropping a wake-up of a profile with none is harmless', async (store) => {
      await store.quarantine.dropWakeup('nobody');
      assert.equal(await store.audiences.nextWakeAt(), null);
    });
  });
}
