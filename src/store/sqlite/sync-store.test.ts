import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSqliteStore } from './index.ts';
import type { DesiredState } from '../../sync/ports.ts';

const desired = (contact: string, list: string, priority: number, dueAt: number): DesiredState => ({
  contact,
  list,
  audience: list,
  profileId: contact,
  email: undefined,
  desired: true,
  changeSeq: 1,
  cause: 'test',
  version: 'v',
  changedAt: 0,
  priority,
  dueAt,
});

test('a due batch is chosen by contact: every due list of a chosen contact comes along', async () => {
  const store = createSqliteStore(':memory:');
  try {
    const items = [desired('email:a@x.com', 'suppress', 100, 0)];
    for (let i = 0; i < 500; i++)
      items.push(desired(`email:c${String(i).padStart(3, '0')}@x.com`, 'cart', 50, 1));
    items.push(desired('email:a@x.com', 'cart', 50, 2));
    await store.sync.record('cordial', { name: 'sync:cordial', from: 0, to: 1 }, items, []);
    const due = await store.sync.due('cordial', 10, 2);
    assert.deepEqual(
      due.map((i) => `${i.contact} ${i.list}`),
      ['email:a@x.com suppress', 'email:c000@x.com cart', 'email:a@x.com cart'],
      'the limit counts the chosen rows; the contact’s other due list rides along',
    );
  } finally {
    await store.close();
  }
});
