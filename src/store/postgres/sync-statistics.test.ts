import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredState } from '../../sync/ports.ts';
import { openStoreWithSql } from './pg-fixture.ts';

// A large change set is planned on fresh statistics: the store analyses the sync items itself
// once it has recorded enough of them, instead of waiting for autovacuum (which may be off).

const T0 = Date.UTC(2025, 0, 1);
let world: Awaited<ReturnType<typeof openStoreWithSql>>;
before(async () => (world = await openStoreWithSql()));
after(() => world.close());

const want = (n: number): DesiredState => ({
  contact: `email:c${n}@x.com`,
  list: 'cart',
  audience: 'cart',
  profileId: `p${n}`,
  email: `c${n}@x.com`,
  desired: true,
  changeSeq: n,
  cause: 'test',
  version: 'v1',
  changedAt: T0,
  priority: 0,
  dueAt: T0,
});

const analysed = async (): Promise<{ at: Date | null; rows: number }> => {
  const [row] = await world.sql<{ at: Date | null; rows: number }[]>`
    SELECT s.last_analyze AS at, c.reltuples::float8 AS rows
    FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    WHERE s.schemaname = current_schema() AND s.relname = 'sync_items'`;
  return row!;
};

test('sync items are analysed once 5,000 desired states are recorded, and the plan then knows them', async () => {
  const { store } = world;
  const record = (from: number, to: number) =>
    store.sync.record(
      'cordial',
      { name: 'sync:cordial', from, to },
      Array.from({ length: to - from }, (_, i) => want(from + i + 1)),
      [],
    );
  await record(0, 4_000);
  assert.equal((await analysed()).at, null, 'not yet: 4,000 recorded');
  await record(4_000, 6_000);
  const after = await analysed();
  assert.ok(after.at !== null, 'analysed after 6,000');
  assert.equal(after.rows, 6_000);
  assert.equal((await store.sync.due('cordial', T0, 100)).length, 100);
});
