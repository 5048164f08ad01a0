import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import { DEST, T0, desired, itemOf, record, sent } from './fixtures.ts';

/** c1 acknowledged, c2 pending, c3 and c4 dead (audience a); c5 dead (audience b). */
async function ledger(store: Store): Promise<void> {
  await record(store, [
    desired('c1', 'a', true),
    desired('c2', 'a', true, { dueAt: T0 + 10_000 }),
    desired('c3', 'a', true),
    desired('c4', 'a', false, { dueAt: T0 }),
    desired('c5', 'b', true),
  ]);
  // c4: an exit owed after an add that may have landed.
  const [c1, c3, c5] = await store.sync.due(DEST, T0, 10);
  await store.sync.results(DEST, [
    sent(c1!, 'ok', T0 + 1),
    sent(c3!, 'retry', T0 + 1),
    sent(c5!, 'retry', T0 + 1),
  ]);
  await record(store, [desired('c4', 'a', true, { changeSeq: 2 })]);
  await record(store, [desired('c4', 'a', false, { changeSeq: 3, changedAt: T0 + 2 })]);
  const retried = await store.sync.due(DEST, T0 + 100_000, 10);
  await store.sync.results(
    DEST,
    retried
      .filter((i) => i.contact !== 'c2')
      .map((i) =>
        sent(i, 'dead', T0 + (i.contact === 'c5' ? 5 : i.contact === 'c3' ? 3 : 4), {
          attempts: 2,
          status: 422,
          errorKey: `bad_${i.contact}`,
          message: `refused ${i.contact}`,
        }),
      ),
  );
}

const states = async (store: Store): Promise<string[]> =>
  (await store.sync.items(DEST)).map((i) => `${i.contact}:${i.state}`);

/** Counts, dead letters and what an operator does with them; unmatched members. */
export function deadLetterContract(it: StoreTest): void {
  describe('sync dead letters', () => {
    it('sync.deadLetters: dead items with their last send’s outcome, oldest first; by audience', async (store) => {
      assert.deepEqual(await store.sync.deadLetters(DEST), []);
      await ledger(store);
      assert.deepEqual(await states(store), ['c1:done', 'c2:pending', 'c3:dead', 'c4:dead', 'c5:dead']);
      const dead = await store.sync.deadLetters(DEST);
      assert.deepEqual(
        dead.map((d) => d.contact),
        ['c3', 'c4', 'c5'],
      );
      assert.deepEqual(dead[1], {
        contact: 'c4',
        list: 'list-a',
        audience: 'a',
        desired: false,
        attempts: 2,
        status: 422,
        errorKey: 'bad_c4',
        message: 'refused c4',
        request: 'PUT /contacts/c4',
        at: T0 + 4,
      });
      assert.deepEqual(
        (await store.sync.deadLetters(DEST, 'b')).map((d) => d.contact),
        ['c5'],
      );
      assert.deepEqual(await store.sync.deadLetters(DEST, 'none'), []);
      assert.deepEqual(await store.sync.deadLetters('other'), []);
    });

    it('sync.deadLetters: letters that died at the same moment, by contact then list', async (store) => {
      await record(store, [desired('zed', 'a', true), desired('amy', 'b', true), desired('amy', 'a', true)]);
      const due = await store.sync.due(DEST, T0, 10);
      await store.sync.results(
        DEST,
        [...due].reverse().map((i) => sent(i, 'dead', T0 + 1)),
      );
      assert.deepEqual(
        (await store.sync.deadLetters(DEST)).map((d) => `${d.contact} ${d.list}`),
        ['amy list-a', 'amy list-b', 'zed list-a'],
      );
    });

    it('sync.counts: per audience and list: acknowledged members, pending, dead, unmatched', async (store) => {
      assert.deepEqual(await store.sync.counts(DEST), []);
      await ledger(store);
      await record(
        store,
        [],
        [
          { audience: 'a', profileId: 'p9', reason: 'no email', at: T0 },
          { audience: 'z', profileId: 'p8', reason: 'no email', at: T0 },
        ],
      );
      assert.deepEqual(await store.sync.counts(DEST), [
        { audience: 'a', list: 'list-a', members: 1, pending: 1, dead: 2, unmatched: 1 },
        { audience: 'b', list: 'list-b', members: 0, pending: 0, dead: 1, unmatched: 0 },
        { audience: 'z', list: '', members: 0, pending: 0, dead: 0, unmatched: 1 },
      ]);
      assert.deepEqual(await store.sync.counts('other'), []);
    });

    it('sync.retry: dead items back to pending with a fresh budget, all or one audience’s', async (store) => {
      await ledger(store);
      assert.equal(await store.sync.retry(DEST, 'b'), 1);
      assert.deepEqual(await states(store), ['c1:done', 'c2:pending', 'c3:dead', 'c4:dead', 'c5:pending']);
      const c5 = await itemOf(store, 'c5', 'list-b');
      assert.deepEqual([c5.attempts, c5.nextAttemptAt], [0, 0]);
      assert.equal(await store.sync.retry(DEST), 2);
      assert.deepEqual(await states(store), [
        'c1:done',
        'c2:pending',
        'c3:pending',
        'c4:pending',
        'c5:pending',
      ]);
      assert.equal(await store.sync.retry(DEST), 0);
      assert.equal(await store.sync.retry('other'), 0);
      assert.deepEqual(await store.sync.deadLetters(DEST), []);
    });

    it('sync.retryDead: only the named items that are dead; returns how many', async (store) => {
      await ledger(store);
      const n = await store.sync.retryDead(DEST, [
        { contact: 'c3', list: 'list-a' },
        { contact: 'c1', list: 'list-a' },
        { contact: 'c5', list: 'list-a' },
        { contact: 'nobody', list: 'list-a' },
      ]);
      assert.equal(n, 1);
      assert.deepEqual(await states(store), ['c1:done', 'c2:pending', 'c3:pending', 'c4:dead', 'c5:dead']);
      const c3 = await itemOf(store, 'c3', 'list-a');
      assert.deepEqual([c3.attempts, c3.nextAttemptAt], [0, 0]);
      assert.equal(await store.sync.retryDead(DEST, []), 0);
    });

    it('sync.skipDead: named dead items are done without a send; returns how many were dead', async (store) => {
      await ledger(store);
      const before = await itemOf(store, 'c4', 'list-a');
      const n = await store.sync.skipDead(
        DEST,
        [
          { contact: 'c4', list: 'list-a' },
          { contact: 'c2', list: 'list-a' },
          { contact: 'c4', list: 'list-a' },
        ],
        T0 + 50,
        'removed by hand',
      );
      assert.equal(n, 1, 'a pending item is not skipped, nor one skipped already');
      assert.deepEqual(await states(store), ['c1:done', 'c2:pending', 'c3:dead', 'c4:done', 'c5:dead']);
      const after = await itemOf(store, 'c4', 'list-a');
      assert.deepEqual({ ...after, state: before.state }, before, 'nothing else of the item changes');
      assert.deepEqual(
        (await store.sync.deadLetters(DEST)).map((d) => d.contact),
        ['c3', 'c5'],
      );
    });

    it('sync.reassert: every item sent or wanted is pending again, as if never sent', async (store) => {
      await ledger(store);
      await record(store, [desired('c6', 'a', false)]);
      assert.equal(await store.sync.reassert(DEST, { contacts: ['c1', 'c6', 'nobody'] }), 1);
      const c1 = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([c1.state, c1.sent, c1.attempts, c1.nextAttemptAt], ['pending', undefined, 0, 0]);
      assert.equal((await itemOf(store, 'c6', 'list-a')).state, 'done', 'never sent and not wanted');
      assert.equal(await store.sync.reassert(DEST, { audience: 'b' }), 1);
      assert.equal(await store.sync.reassert(DEST, { audience: 'b', contacts: ['c1'] }), 0);
      assert.equal(await store.sync.reassert(DEST), 4, 'c1, c2, c3 and c5; not c4 or c6');
      assert.deepEqual(await states(store), [
        'c1:pending',
        'c2:pending',
        'c3:pending',
        'c4:dead',
        'c5:pending',
        'c6:done',
      ]);
      assert.equal(await store.sync.reassert('other'), 0);
      // A removal the destination acknowledged is re-asserted too: it was sent.
      await record(store, [desired('c1', 'a', false, { changeSeq: 9, changedAt: T0 + 60 })]);
      const [removal] = await store.sync.due(DEST, T0 + 60, 1);
      assert.equal(removal?.contact, 'c1');
      await store.sync.results(DEST, [sent(removal, 'ok', T0 + 61)]);
      const removed = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([removed.state, removed.sent], ['done', false]);
      assert.equal(await store.sync.reassert(DEST, { audience: 'a' }), 3, 'c1, c2 and c3');
      const again = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([again.state, again.sent], ['pending', undefined]);
    });

    it('sync.unmatchedAfter: unmatched members in (audience, profile) order, after a key, at most `limit`', async (store) => {
      const start = { audience: '', profileId: '' };
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, start, 10), []);
      const u = (audience: string, profileId: string, reason?: string) => ({
        audience,
        profileId,
        reason,
        at: T0,
      });
      await record(
        store,
        [],
        [
          u('b', 'p1', 'no email'),
          u('a', 'p2', 'no email'),
          u('a', 'p1', 'no email'),
          u('a', 'p3', 'no email'),
        ],
      );
      await record(store, [], [u('x', 'p1', 'no email')], 'other');
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, start, 10), [
        { audience: 'a', profileId: 'p1' },
        { audience: 'a', profileId: 'p2' },
        { audience: 'a', profileId: 'p3' },
        { audience: 'b', profileId: 'p1' },
      ]);
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, { audience: 'a', profileId: 'p2' }, 2), [
        { audience: 'a', profileId: 'p3' },
        { audience: 'b', profileId: 'p1' },
      ]);
      await record(store, [], [u('a', 'p2'), u('a', 'p3', 'no phone'), u('c', 'p9')]);
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, start, 10), [
        { audience: 'a', profileId: 'p1' },
        { audience: 'a', profileId: 'p3' },
        { audience: 'b', profileId: 'p1' },
      ]);
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, { audience: 'b', profileId: 'p1' }, 10), []);
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, start, 0), []);
    });
  });
}
