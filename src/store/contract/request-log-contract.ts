import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestCount, RequestRecord } from '../../sync/model.ts';
import type { StoreTest } from './fixtures.ts';
import { DEST, T0, desired, record, sendDue } from './fixtures.ts';

const MINUTE = 60_000;

const request = (at: number, over: Partial<RequestRecord> = {}): RequestRecord => ({
  destination: DEST,
  method: 'PUT',
  endpoint: 'contact',
  outcome: '2xx',
  status: 200,
  at,
  ...over,
});
const limited = (at: number): RequestRecord => request(at, { outcome: '429', status: 429 });

const byKey = (counts: readonly RequestCount[]): RequestCount[] =>
  [...counts].sort((a, b) =>
    `${a.destination} ${a.method} ${a.endpoint} ${a.outcome}`.localeCompare(
      `${b.destination} ${b.method} ${b.endpoint} ${b.outcome}`,
    ),
  );
const count = (over: Partial<RequestCount> & { count: number }): RequestCount => ({
  destination: DEST,
  method: 'PUT',
  endpoint: 'contact',
  outcome: '2xx',
  ...over,
});

/** The request log, and the alert states kept beside the monitor. */
export function requestLogContract(it: StoreTest): void {
  describe('request log', () => {
    it('requests.append, requests.watermark, requests.tally: counts what was logged after a watermark, and the next watermark', async (store) => {
      assert.equal(await store.requests.watermark(), 0);
      assert.deepEqual(await store.requests.tally(0), { to: 0, counts: [] });
      await store.requests.append([request(T0), request(T0 + 1), limited(T0 + 2)]);
      await store.requests.append([]);
      const first = await store.requests.tally(0);
      assert.equal(first.to, await store.requests.watermark());
      assert.ok(first.to > 0);
      assert.deepEqual(byKey(first.counts), [count({ count: 2 }), count({ outcome: '429', count: 1 })]);
      await store.requests.append([
        request(T0 + 3, {
          destination: 'other',
          method: 'GET',
          endpoint: 'list',
          outcome: 'network_error',
          status: undefined,
        }),
        limited(T0 + 4),
      ]);
      const second = await store.requests.tally(first.to);
      assert.ok(second.to > first.to);
      assert.deepEqual(byKey(second.counts), [
        count({ outcome: '429', count: 1 }),
        count({ destination: 'other', method: 'GET', endpoint: 'list', outcome: 'network_error', count: 1 }),
      ]);
      assert.deepEqual(await store.requests.tally(second.to), { to: second.to, counts: [] });
    });

    it('requests.counts: one destination’s requests answered in [since, until), by method, endpoint and outcome', async (store) => {
      await store.requests.append([
        request(T0 - 1),
        request(T0),
        request(T0 + 5),
        request(T0 + 6, { method: 'POST', endpoint: 'list', outcome: '4xx', status: 409 }),
        limited(T0 + 7),
        request(T0 + 10),
        request(T0 + 5, { destination: 'other' }),
      ]);
      assert.deepEqual(byKey(await store.requests.counts(DEST, T0, T0 + 10)), [
        count({ method: 'POST', endpoint: 'list', outcome: '4xx', count: 1 }),
        count({ count: 2 }),
        count({ outcome: '429', count: 1 }),
      ]);
      assert.deepEqual(await store.requests.counts(DEST, T0 + 11, T0 + 20), []);
      assert.deepEqual(await store.requests.counts('nobody', 0, T0 + 20), []);
    });

    it('requests.buckets: requests and 429s per bucket from the epoch, oldest first, empty ones omitted', async (store) => {
      await store.requests.append([
        request(T0 - MINUTE),
        request(T0),
        limited(T0 + MINUTE - 1),
        limited(T0 + 3 * MINUTE + 5),
        request(T0 + 3 * MINUTE, { destination: 'other' }),
      ]);
      assert.deepEqual(await store.requests.buckets(DEST, T0, MINUTE), [
        { at: T0, requests: 2, rateLimited: 1 },
        { at: T0 + 3 * MINUTE, requests: 1, rateLimited: 1 },
      ]);
      assert.deepEqual(
        await store.requests.buckets(DEST, T0 + 30_000, MINUTE),
        [
          { at: T0, requests: 1, rateLimited: 1 },
          { at: T0 + 3 * MINUTE, requests: 1, rateLimited: 1 },
        ],
        'a bucket starts on a multiple of its width, not at `since`',
      );
      assert.deepEqual(await store.requests.buckets(DEST, T0, 10 * MINUTE), [
        { at: T0, requests: 3, rateLimited: 2 },
      ]);
      assert.deepEqual(await store.requests.buckets(DEST, T0 + 4 * MINUTE, MINUTE), []);
    });

    it('requests.items: items settled by sends in [since, until), by result, from the sync log', async (store) => {
      assert.deepEqual(await store.requests.items(DEST, 0, T0 * 2), { ok: 0, retry: 0, dead: 0 });
      await record(store, [desired('c1', 'a', true), desired('c2', 'a', true), desired('c3', 'a', true)]);
      const [c1, c2, c3] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [
        {
          item: c1!,
          result: 'ok',
          attempts: 0,
          nextAttemptAt: 0,
          status: 200,
          message: '',
          request: '',
          at: T0 + 1,
        },
        {
          item: c2!,
          result: 'retry',
          attempts: 1,
          nextAttemptAt: T0 + 2,
          status: 503,
          message: '',
          request: '',
          at: T0 + 1,
        },
        {
          item: c3!,
          result: 'dead',
          attempts: 1,
          nextAttemptAt: 0,
          status: 400,
          message: '',
          request: '',
          at: T0 + 5,
        },
      ]);
      await sendDue(store, T0 + 9, 'ok');
      await store.sync.skipDead(DEST, [{ contact: 'c3', list: 'list-a' }], T0 + 2, 'given up');
      assert.deepEqual(await store.requests.items(DEST, T0, T0 + 100), { ok: 2, retry: 1, dead: 1 });
      assert.deepEqual(await store.requests.items(DEST, T0 + 1, T0 + 5), { ok: 1, retry: 1, dead: 0 });
      assert.deepEqual(await store.requests.items(DEST, T0 + 5, T0 + 9), { ok: 0, retry: 0, dead: 1 });
      assert.deepEqual(await store.requests.items('other', T0, T0 + 100), { ok: 0, retry: 0, dead: 0 });
    });

    it('requests.prune drops requests answered before the moment and returns how many', async (store) => {
      await store.requests.append([request(T0), request(T0 + 1), request(T0 + 2, { destination: 'other' })]);
      assert.equal(await store.requests.prune(T0), 0);
      assert.equal(await store.requests.prune(T0 + 2), 2);
      assert.deepEqual(await store.requests.counts(DEST, 0, T0 + 10), []);
      assert.deepEqual(byKey(await store.requests.counts('other', 0, T0 + 10)), [
        count({ destination: 'other', count: 1 }),
      ]);
      assert.equal(await store.requests.prune(T0 + 2), 0);
    });

    it('requests.prune, requests.watermark: an id is never handed out again, even after every request was pruned', async (store) => {
      await store.requests.append([request(T0), request(T0 + 1)]);
      const mark = await store.requests.watermark();
      assert.equal(await store.requests.prune(T0 + 10), 2);
      await store.requests.append([limited(T0 + 20)]);
      assert.ok(
        (await store.requests.watermark()) > mark,
        'the new request has an id above every earlier one',
      );
      const after = await store.requests.tally(mark);
      assert.deepEqual(
        after.counts,
        [count({ outcome: '429', count: 1 })],
        'a reader past the mark still sees it',
      );
    });
  });

  describe('alert states', () => {
    it('alerts.alertStates, alerts.setAlertState: the last status announced per key', async (store) => {
      assert.deepEqual(await store.alerts.alertStates(), new Map());
      await store.alerts.setAlertState('hook|size|a', 'warn', T0);
      await store.alerts.setAlertState('hook|dead_letters|', 'fail', T0 + 1);
      await store.alerts.setAlertState('hook|size|a', 'pass', T0 + 2);
      assert.deepEqual(
        await store.alerts.alertStates(),
        new Map([
          ['hook|size|a', 'pass'],
          ['hook|dead_letters|', 'fail'],
        ]),
      );
    });
  });
}
