import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { SyncItem } from '../../sync/model.ts';
import { CursorMovedError } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import { DEST, T0, desired, itemOf, record, rejection, sendDue, sent } from './fixtures.ts';

const keys = (items: readonly SyncItem[]): string[] => items.map((i) => `${i.contact}/${i.list}`);

/** The sync ledger: desired states in, due items out, send results applied by revision. */
export function syncContract(it: StoreTest): void {
  describe('sync ledger', () => {
    it('sync.record, sync.items: a wanted item is pending, an unwanted new one is done at once', async (store) => {
      await record(store, [
        desired('c2', 'a', true, { changeSeq: 4, priority: 1, dueAt: T0 + 5 }),
        desired('c1', 'a', false, { email: undefined }),
      ]);
      assert.equal(await store.cursors.get(`sync:${DEST}`), 1);
      assert.deepEqual(await store.sync.items(DEST), [
        {
          destination: DEST,
          contact: 'c1',
          list: 'list-a',
          audience: 'a',
          profileId: 'p-c1',
          email: undefined,
          desired: false,
          rev: 1,
          changeSeq: 1,
          priority: 0,
          dueAt: T0,
          sent: undefined,
          state: 'done',
          attempts: 0,
          nextAttemptAt: 0,
          lastError: undefined,
        },
        {
          destination: DEST,
          contact: 'c2',
          list: 'list-a',
          audience: 'a',
          profileId: 'p-c2',
          email: 'c2@example.com',
          desired: true,
          rev: 1,
          changeSeq: 4,
          priority: 1,
          dueAt: T0 + 5,
          sent: undefined,
          state: 'pending',
          attempts: 0,
          nextAttemptAt: 0,
          lastError: undefined,
        },
      ]);
      assert.deepEqual(keys(await store.sync.items(DEST, 'c2')), ['c2/list-a']);
      assert.deepEqual(await store.sync.items(DEST, 'nobody'), []);
      assert.deepEqual(await store.sync.items('other'), [], 'destinations are separate');
    });

    it('sync.items: in (contact, list) order', async (store) => {
      await record(store, [desired('c2', 'b', true), desired('c1', 'b', true), desired('c2', 'a', true)]);
      assert.deepEqual(keys(await store.sync.items(DEST)), ['c1/list-b', 'c2/list-a', 'c2/list-b']);
      assert.deepEqual(keys(await store.sync.items(DEST, 'c2')), ['c2/list-a', 'c2/list-b']);
    });

    it('sync.record from a stale cursor throws CursorMovedError and records nothing', async (store) => {
      await record(store, [desired('c1', 'a', true)]);
      const error = await rejection(
        store.sync.record(
          DEST,
          { name: `sync:${DEST}`, from: 0, to: 2 },
          [desired('c2', 'a', true), desired('c1', 'a', false)],
          [{ audience: 'a', profileId: 'p9', reason: 'no email', at: T0 }],
        ),
      );
      assert.ok(error instanceof CursorMovedError);
      assert.deepEqual([error.cursorName, error.expected, error.actual], [`sync:${DEST}`, 0, 1]);
      assert.equal(await store.cursors.get(`sync:${DEST}`), 1);
      assert.deepEqual(keys(await store.sync.items(DEST)), ['c1/list-a']);
      assert.equal((await itemOf(store, 'c1', 'list-a')).desired, true);
      assert.deepEqual(await store.sync.unmatchedAfter(DEST, { audience: '', profileId: '' }, 10), []);
    });

    it('sync.due: due and pending only, higher priority first, then earlier due, then contact', async (store) => {
      await record(store, [
        desired('c1', 'a', true, { dueAt: T0 + 10 }),
        desired('c2', 'a', true, { dueAt: T0 }),
        desired('c3', 'a', true, { dueAt: T0 + 10 }),
        desired('c4', 'sup', true, { dueAt: T0 + 20, priority: 5 }),
        desired('c5', 'a', false),
        desired('c6', 'a', true, { dueAt: T0 + 1000 }),
      ]);
      assert.deepEqual(await store.sync.due(DEST, T0 - 1, 10), []);
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 20, 10)), [
        'c4/list-sup',
        'c2/list-a',
        'c1/list-a',
        'c3/list-a',
      ]);
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 20, 2)), ['c4/list-sup', 'c2/list-a']);
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 10, 10)), [
        'c2/list-a',
        'c1/list-a',
        'c3/list-a',
      ]);
      assert.deepEqual(await store.sync.due('other', T0 + 20, 10), []);
    });

    it('sync.due: every due list of a chosen contact comes with it, so its changes travel in one request', async (store) => {
      await record(store, [
        desired('c1', 'a', true),
        desired('c1', 'b', true, { dueAt: T0 + 1 }),
        desired('c1', 'c', true, { dueAt: T0 + 500 }),
        desired('c2', 'a', true, { dueAt: T0 + 2 }),
      ]);
      const due = await store.sync.due(DEST, T0 + 10, 1);
      assert.deepEqual(keys(due).sort(), ['c1/list-a', 'c1/list-b'], 'not c1/list-c: it is not due yet');
    });

    it('sync.nextDueAt: the earliest moment a pending item is due, counting retry waits; null with none', async (store) => {
      assert.equal(await store.sync.nextDueAt(DEST), null);
      await record(store, [
        desired('c1', 'a', true, { dueAt: T0 + 50 }),
        desired('c2', 'a', true, { dueAt: T0 + 100 }),
      ]);
      assert.equal(await store.sync.nextDueAt(DEST), T0 + 50);
      const [first] = await store.sync.due(DEST, T0 + 50, 10);
      await store.sync.results(DEST, [sent(first!, 'retry', T0 + 60, { nextAttemptAt: T0 + 500 })]);
      assert.equal(await store.sync.nextDueAt(DEST), T0 + 100);
      assert.deepEqual(
        keys(await store.sync.due(DEST, T0 + 499, 10)),
        ['c2/list-a'],
        'c1 waits for its retry',
      );
      await sendDue(store, T0 + 100, 'ok');
      assert.equal(await store.sync.nextDueAt(DEST), T0 + 500);
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 500, 10)), ['c1/list-a']);
      await sendDue(store, T0 + 500, 'ok');
      assert.equal(await store.sync.nextDueAt(DEST), null);
      assert.equal(await store.sync.nextDueAt('other'), null);
    });

    it('sync.results: ok acknowledges the sent value; retry reschedules; dead buries', async (store) => {
      await record(store, [desired('c1', 'a', true), desired('c2', 'a', true), desired('c3', 'a', true)]);
      const [c1, c2, c3] = await store.sync.due(DEST, T0, 10);
      await store.sync.results(DEST, [
        sent(c1!, 'ok', T0 + 1),
        sent(c2!, 'retry', T0 + 1, { attempts: 1, nextAttemptAt: T0 + 99, message: 'busy' }),
        sent(c3!, 'dead', T0 + 1, { attempts: 1, message: 'refused' }),
      ]);
      const [i1, i2, i3] = await store.sync.items(DEST);
      assert.deepEqual(
        [i1!.state, i1!.sent, i1!.attempts, i1!.nextAttemptAt, i1!.lastError],
        ['done', true, 0, 0, undefined],
      );
      assert.deepEqual(
        [i2!.state, i2!.sent, i2!.attempts, i2!.nextAttemptAt, i2!.lastError],
        ['pending', undefined, 1, T0 + 99, 'busy'],
      );
      assert.deepEqual([i3!.state, i3!.sent, i3!.attempts, i3!.lastError], ['dead', undefined, 1, 'refused']);
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 99, 10)), ['c2/list-a']);
      await store.sync.results(DEST, []);
    });

    it('sync.results: a result for an older revision never closes a newer desired state', async (store) => {
      await record(store, [desired('c1', 'a', true), desired('c2', 'a', true), desired('c3', 'a', true)]);
      const [old1, old2, old3] = await store.sync.due(DEST, T0, 10);
      await record(store, [
        desired('c1', 'a', false, { changedAt: T0 + 5, changeSeq: 2 }),
        desired('c2', 'a', false, { changedAt: T0 + 5, changeSeq: 2 }),
        desired('c3', 'a', false, { changedAt: T0 + 5, changeSeq: 2 }),
      ]);
      // The add went out before the exit was recorded: what the destination holds is the add.
      await store.sync.results(DEST, [
        sent(old1!, 'ok', T0 + 6),
        sent(old2!, 'dead', T0 + 6),
        sent(old3!, 'retry', T0 + 6, { attempts: 4, nextAttemptAt: T0 + 999, message: 'busy' }),
      ]);
      const i3 = await itemOf(store, 'c3', 'list-a');
      assert.deepEqual(
        [i3.state, i3.attempts, i3.nextAttemptAt, i3.lastError],
        ['pending', 0, 0, undefined],
        'a retry of rev 1 does not delay rev 2',
      );
      const i1 = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([i1.desired, i1.sent, i1.state, i1.rev], [false, true, 'pending', 2]);
      const i2 = await itemOf(store, 'c2', 'list-a');
      assert.deepEqual([i2.state, i2.attempts], ['pending', 0], 'a dead result of rev 1 does not bury rev 2');
      const [removal] = await store.sync.due(DEST, T0 + 6, 1);
      await store.sync.results(DEST, [sent(removal!, 'ok', T0 + 7)]);
      const done = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([done.desired, done.sent, done.state], [false, false, 'done']);
    });

    it('sync.record: an exit decided before its add was due is done without a send', async (store) => {
      await record(store, [desired('c1', 'a', true, { dueAt: T0 + 100 })]);
      await record(store, [desired('c1', 'a', false, { changedAt: T0 + 50, dueAt: T0 + 50, changeSeq: 2 })]);
      const item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([item.desired, item.state, item.rev, item.changeSeq], [false, 'done', 2, 2]);
      assert.deepEqual(await store.sync.due(DEST, T0 + 1000, 10), []);
    });

    it('sync.record: an exit after an unacknowledged send is owed (the add may have landed)', async (store) => {
      await record(store, [desired('c1', 'a', true)]);
      await sendDue(store, T0 + 1, 'retry', { message: 'timeout' });
      await record(store, [desired('c1', 'a', false, { changedAt: T0 + 2, dueAt: T0 + 2, changeSeq: 2 })]);
      const item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual(
        [item.desired, item.state, item.attempts, item.nextAttemptAt, item.lastError],
        [false, 'pending', 0, 0, undefined],
        'a new desired state starts a fresh retry budget',
      );
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 2, 10)), ['c1/list-a']);
    });

    it('sync.record: back to the acknowledged value while the other was owed: sent again (that send may have gone out unrecorded)', async (store) => {
      await record(store, [desired('c1', 'a', true)]);
      await sendDue(store, T0 + 1, 'ok');
      await record(store, [desired('c1', 'a', false, { changeSeq: 2, changedAt: T0 + 2 })]);
      // The removal is sent, and the process dies before it records the reply.
      await store.sync.due(DEST, T0 + 3, 10);
      await record(store, [desired('c1', 'a', true, { changeSeq: 3, changedAt: T0 + 4 })]);
      const item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([item.desired, item.sent, item.state, item.rev], [true, true, 'pending', 3]);
      assert.deepEqual(keys(await store.sync.due(DEST, T0 + 4, 10)), ['c1/list-a']);
    });

    it('sync.record: enter, acknowledge, exit, acknowledge, enter again: the full cycle by revision', async (store) => {
      await record(store, [desired('c1', 'a', true)]);
      await sendDue(store, T0 + 1, 'ok');
      await record(store, [desired('c1', 'a', true, { changeSeq: 2, changedAt: T0 + 2 })]);
      let item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([item.state, item.rev, item.sent], ['done', 2, true], 'already held: nothing to send');
      await record(store, [desired('c1', 'a', false, { changeSeq: 3, changedAt: T0 + 3, email: undefined })]);
      item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual(
        [item.state, item.rev, item.email],
        ['pending', 3, 'c1@example.com'],
        'the email is kept',
      );
      await sendDue(store, T0 + 4, 'ok');
      item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual([item.state, item.sent], ['done', false]);
      await record(store, [
        desired('c1', 'a', true, { changeSeq: 4, changedAt: T0 + 5, email: 'new@example.com' }),
      ]);
      item = await itemOf(store, 'c1', 'list-a');
      assert.deepEqual(
        [item.state, item.rev, item.sent, item.email, item.changeSeq],
        ['pending', 4, false, 'new@example.com', 4],
      );
    });

    it('sync.itemsOfMember: the items an audience’s member was synced under', async (store) => {
      await record(store, [
        desired('c1', 'a', true, { profileId: 'p1' }),
        desired('c1', 'b', true, { profileId: 'p1' }),
        desired('c2', 'a', true, { profileId: 'p2' }),
      ]);
      await record(store, [desired('c1', 'a', true, { profileId: 'p1' })], [], 'other');
      assert.deepEqual(keys(await store.sync.itemsOfMember(DEST, 'a', 'p1')), ['c1/list-a']);
      const [item] = await store.sync.itemsOfMember(DEST, 'a', 'p1');
      assert.deepEqual(item, await itemOf(store, 'c1', 'list-a'));
      assert.deepEqual(await store.sync.itemsOfMember(DEST, 'c', 'p1'), []);
      assert.deepEqual(await store.sync.itemsOfMember(DEST, 'a', 'nobody'), []);
    });
    it('sync.itemsOfMembers: the items of every member given, as itemsOfMember finds them one by one', async (store) => {
      await record(store, [
        desired('c1', 'a', true, { profileId: 'p1' }),
        desired('c1', 'b', true, { profileId: 'p1' }),
        desired('c2', 'a', true, { profileId: 'p2' }),
      ]);
      await record(store, [desired('c1', 'a', true, { profileId: 'p1' })], [], 'other');
      const members = [
        { audience: 'a', profileId: 'p1' },
        { audience: 'a', profileId: 'p2' },
        { audience: 'c', profileId: 'p1' },
      ];
      const one: string[] = [];
      for (const m of members)
        one.push(...keys(await store.sync.itemsOfMember(DEST, m.audience, m.profileId)));
      assert.deepEqual(keys(await store.sync.itemsOfMembers(DEST, members)).sort(), one.sort());
      assert.deepEqual(await store.sync.itemsOfMembers(DEST, []), []);
    });
  });
}
