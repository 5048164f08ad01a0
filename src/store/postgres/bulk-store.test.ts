import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestPostgresStore } from './testing.ts';

const T0 = Date.UTC(2025, 0, 1);
const D = 'cordial';
const contacts = Array.from({ length: 8 }, (_, i) => `email:m${i}@x.com`);

// What the contract cannot show on one connection: planners racing on separate connections.
describe('PostgreSQL bulk store under concurrent planners', () => {
  test('bulk.plan: jobs planned at once never share an item nor exceed their limit', async () => {
    const store = await openTestPostgresStore({ poolSize: 4 });
    try {
      const changes = contacts.map((contact, i) => ({
        contact,
        list: 'vip',
        audience: 'vip',
        profileId: `p-${i}`,
        email: contact.slice('email:'.length),
        desired: true,
        changeSeq: i + 1,
        cause: 'test',
        version: 'v1',
        changedAt: T0,
        priority: 0,
        dueAt: T0,
      }));
      await store.sync.record(D, { name: 'sync:cordial', from: 0, to: 1 }, changes, []);
      const jobs = await Promise.all(
        [0, 1, 2, 3].map((n) =>
          store.bulk.plan({ destination: D, list: 'vip', add: true, token: `t${n}`, at: T0, limit: 3 }),
        ),
      );
      const seen: string[] = [];
      for (const job of jobs.filter((j) => j !== undefined)) {
        const members = await store.bulk.contactsOf(job.id, '', 100);
        assert.ok(members.length <= 3, `job ${job.id} took ${members.length} items`);
        assert.equal(job.rows, members.length, `job ${job.id} counts its items`);
        seen.push(...members);
      }
      assert.equal(new Set(seen).size, seen.length, 'no item is in two jobs');
      assert.ok(seen.length > 0);
      assert.deepEqual(
        [...seen, ...(await store.sync.due(D, T0, 100)).map((i) => i.contact)].sort(),
        contacts,
        'every item is in exactly one job or due',
      );
    } finally {
      await store.close();
    }
  });
});
