import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../ports.ts';
import type { DesiredState } from '../../sync/ports.ts';

const T0 = Date.UTC(2025, 0, 1);
const D = 'cordial';
let seq = 0;
const desired = (contact: string, want: boolean, list = 'vip'): DesiredState => ({
  contact,
  list,
  audience: list,
  profileId: `p-${contact}`,
  email: contact.slice('email:'.length),
  desired: want,
  changeSeq: ++seq,
  cause: 'test',
  version: 'v1',
  changedAt: T0,
  priority: 0,
  dueAt: T0,
});
/** Records changes as a sync pull would, moving its cursor one step. */
async function record(store: Store, changes: DesiredState[]): Promise<void> {
  const at = await store.cursors.get('sync:cordial');
  await store.sync.record(D, { name: 'sync:cordial', from: at, to: at + 1 }, changes, []);
}
const contacts = (n: number) =>
  Array.from({ length: n }, (_, i) => `email:m${String(i).padStart(3, '0')}@x.com`);
const plan = (store: Store, limit = 100, add = true, token = `t${++seq}`) =>
  store.bulk.plan({ destination: D, list: 'vip', add, token, at: T0, limit });

/** The bulk job ledger's contract; `it` runs a test against a fresh store. */
export function bulkContract(it: (title: string, body: (store: Store) => Promise<void>) => void): void {
  describe('bulk jobs', () => {
    it('bulk.candidates, bulk.plan, bulk.contactsOf, bulk.byToken, bulk.active: pending items per list and direction at the threshold; a job takes them out of due', async (store) => {
      await record(store, [
        ...contacts(5).map((c) => desired(c, true)),
        desired('email:z@x.com', true, 'other'),
      ]);
      assert.deepEqual(await store.bulk.candidates(D, T0, 5), [{ list: 'vip', add: true, count: 5 }]);
      assert.deepEqual(await store.bulk.candidates(D, T0 - 1, 1), [], 'not due yet');
      const job = await plan(store, 3);
      assert.equal(job?.rows, 3);
      assert.equal(job?.state, 'planned');
      assert.deepEqual(await store.bulk.contactsOf(job.id, '', 10), contacts(3));
      assert.deepEqual(await store.bulk.contactsOf(job.id, contacts(3)[0]!, 1), [contacts(3)[1]]);
      const due = (await store.sync.due(D, T0, 100)).map((i) => i.contact).sort();
      assert.deepEqual(due, [...contacts(5).slice(3), 'email:z@x.com'].sort());
      assert.equal((await store.bulk.byToken(job.token))?.id, job.id);
      assert.deepEqual(
        (await store.bulk.active(D)).map((j) => j.id),
        [job.id],
      );
    });

    it('bulk.complete acknowledges every row; a change made while the job ran stays pending, newest wins', async (store) => {
      await record(
        store,
        contacts(3).map((c) => desired(c, true)),
      );
      const job = (await plan(store))!;
      await record(store, [desired(contacts(3)[0]!, false)]);
      assert.equal(await store.bulk.complete(job.id, T0 + 5, 'POST /contactimports', '3 updated'), 3);
      await store.bulk.update(job.id, { state: 'done', endedAt: T0 + 5 });
      const items = await store.sync.items(D);
      assert.deepEqual(
        items.map((i) => [i.contact, i.sent, i.state]),
        [
          [contacts(3)[0], true, 'pending'],
          [contacts(3)[1], true, 'done'],
          [contacts(3)[2], true, 'done'],
        ],
      );
      assert.equal(await store.bulk.byToken(job.token), undefined, 'the file is gone once the job ended');
      assert.deepEqual(
        (await store.sync.due(D, T0 + 5, 10)).map((i) => i.contact),
        [contacts(3)[0]],
      );
    });

    it('bulk.release returns rows to the queue; perContact keeps them out of jobs until a new change', async (store) => {
      await record(
        store,
        contacts(4).map((c) => desired(c, true)),
      );
      const job = (await plan(store))!;
      assert.equal(
        await store.bulk.release(job.id, {
          nextAttemptAt: T0 + 10,
          perContact: true,
          countAttempt: true,
          message: 'x',
        }),
        4,
      );
      assert.deepEqual(await store.bulk.candidates(D, T0 + 10, 1), []);
      assert.equal((await store.sync.due(D, T0 + 10, 10)).length, 4);
      assert.equal((await store.sync.due(D, T0 + 9, 10)).length, 0, 'not before next_attempt_at');
      await record(store, [desired(contacts(4)[0]!, false), desired(contacts(4)[0]!, true)]);
      assert.deepEqual(await store.bulk.candidates(D, T0 + 10, 1), [{ list: 'vip', add: true, count: 1 }]);
    });

    it('bulk.plan from a job, bulk.update, bulk.recent: a job splits by moving named contacts to a new job and shows its progress', async (store) => {
      await record(
        store,
        contacts(6).map((c) => desired(c, true)),
      );
      const job = (await plan(store))!;
      const child = await store.bulk.plan({
        destination: D,
        list: 'vip',
        add: true,
        token: 'child',
        at: T0,
        limit: 2,
        from: { job: job.id, contacts: contacts(2) },
      });
      assert.equal(child?.rows, 2);
      assert.deepEqual(await store.bulk.contactsOf(job.id, '', 10), contacts(6).slice(2));
      await store.bulk.update(job.id, {
        state: 'running',
        remoteId: 'r1',
        status: 'Processing',
        totalItems: 6,
        completedItems: 3,
        result: { totalRecords: 6, updated: 3, inserted: 0, rejected: 0, error: 0, ignored: 0 },
        nextPollAt: T0 + 5_000,
      });
      const [newest, older] = await store.bulk.recent(D, 2);
      assert.equal(newest?.token, 'child');
      assert.equal(older?.remoteId, 'r1');
      assert.equal(older?.completedItems, 3);
      assert.equal(older?.result?.updated, 3);
      assert.equal(older?.nextPollAt, T0 + 5_000);
      assert.equal(await plan(store, 10), undefined, 'nothing left to assign: no job is written');
    });
  });
}
