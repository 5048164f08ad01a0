import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { SyncItem } from '../../sync/model.ts';
import type { DesiredState, ItemResult, Unmatched } from '../../sync/ports.ts';
import type { Store } from '../ports.ts';
import { createSqliteStore } from '../sqlite/index.ts';
import { openStoreWithSql } from './pg-fixture.ts';

// The SQLite adapter is the reference: any sequence of records, sends and operator actions leaves
// the PostgreSQL ledger exactly as it leaves SQLite's, whatever repeats within one call.

let pg: Awaited<ReturnType<typeof openStoreWithSql>>;
before(async () => {
  pg = await openStoreWithSql();
});
after(() => pg.close());

const contacts = ['email:a@x.com', 'email:b@x.com', 'email:c@x.com'];
const lists = ['cart', 'viewed'];

type Op =
  | { kind: 'record'; desired: Omit<DesiredState, 'changeSeq'>[]; unmatched: Unmatched[] }
  | { kind: 'send'; now: number; limit: number; outcomes: ('ok' | 'retry' | 'dead')[] }
  | { kind: 'retryDead' | 'skipDead'; keys: { contact: string; list: string }[] }
  | { kind: 'retry'; audience: string | undefined }
  | { kind: 'reassert'; audience: string | undefined; contacts: string[] | undefined };

const key = fc.record({ contact: fc.constantFrom(...contacts), list: fc.constantFrom(...lists) });
const desiredArb = fc
  .record({
    key,
    profileId: fc.constantFrom('p1', 'p2'),
    email: fc.option(fc.constantFrom('a@x.com', 'z@x.com'), { nil: undefined }),
    desired: fc.boolean(),
    changedAt: fc.integer({ min: 0, max: 20 }),
    priority: fc.constantFrom(0, 100),
    dueAt: fc.integer({ min: 0, max: 20 }),
  })
  .map(({ key, ...d }) => ({ ...key, ...d, audience: key.list, cause: 'test', version: 'v1' }));
const unmatchedArb = fc.record({
  audience: fc.constantFrom(...lists),
  profileId: fc.constantFrom('p1', 'p2', 'p3'),
  reason: fc.option(fc.constant('no valid email'), { nil: undefined }),
  at: fc.integer({ min: 0, max: 20 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('record' as const),
    desired: fc.array(desiredArb, { maxLength: 8 }),
    unmatched: fc.array(unmatchedArb, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('send' as const),
    now: fc.integer({ min: 0, max: 30 }),
    limit: fc.integer({ min: 1, max: 6 }),
    outcomes: fc.array(fc.constantFrom('ok' as const, 'retry' as const, 'dead' as const), { maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constantFrom('retryDead' as const, 'skipDead' as const),
    keys: fc.array(key, { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('retry' as const),
    audience: fc.option(fc.constantFrom(...lists), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant('reassert' as const),
    audience: fc.option(fc.constantFrom(...lists), { nil: undefined }),
    contacts: fc.option(fc.uniqueArray(fc.constantFrom(...contacts), { maxLength: 2 }), { nil: undefined }),
  }),
);

const byKey = (items: SyncItem[]) =>
  [...items].sort((a, b) => `${a.contact} ${a.list}`.localeCompare(`${b.contact} ${b.list}`));

/** Applies one op to a store; returns what the store answered, to compare. */
async function apply(store: Store, destination: string, op: Op, seq: { n: number }): Promise<unknown> {
  switch (op.kind) {
    case 'record': {
      const desired = op.desired.map((d) => ({ ...d, changeSeq: ++seq.n }));
      const at = await store.cursors.get(`sync:${destination}`);
      await store.sync.record(
        destination,
        { name: `sync:${destination}`, from: at, to: at + 1 },
        desired,
        op.unmatched,
      );
      return at;
    }
    case 'send': {
      const due = await store.sync.due(destination, op.now, op.limit);
      const results: ItemResult[] = byKey(due).map((item, i) => ({
        item,
        result: op.outcomes[i % Math.max(op.outcomes.length, 1)] ?? 'ok',
        attempts: item.attempts + 1,
        nextAttemptAt: op.now + 5,
        status: 500,
        message: `m${i}`,
        request: `r${i}`,
        at: op.now,
      }));
      // The same item twice in one call: applied in order, as one by one.
      if (results[0]) results.push({ ...results[0], result: 'retry', at: op.now + 1 });
      await store.sync.results(destination, results);
      return byKey(due);
    }
    case 'retryDead':
      return store.sync.retryDead(destination, op.keys);
    case 'skipDead':
      return store.sync.skipDead(destination, op.keys, 7, 'skipped by test');
    case 'retry':
      return store.sync.retry(destination, op.audience);
    case 'reassert':
      return store.sync.reassert(destination, { audience: op.audience, contacts: op.contacts });
  }
}

let runs = 0;
test('sync: any sequence of records, sends and operator actions leaves the ledger as SQLite leaves it', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 10 }), async (ops) => {
      const destination = `d${++runs}`;
      const reference = createSqliteStore(':memory:');
      try {
        const seqs = { pg: { n: 0 }, sqlite: { n: 0 } };
        for (const [i, op] of ops.entries()) {
          const want = await apply(reference, destination, op, seqs.sqlite);
          const got = await apply(pg.store, destination, op, seqs.pg);
          assert.deepEqual(got, want, `op ${i} (${op.kind}) answers as SQLite`);
          assert.deepEqual(
            await pg.store.sync.items(destination),
            await reference.sync.items(destination),
            `items after op ${i}`,
          );
        }
        const all = { audience: '', profileId: '' };
        assert.deepEqual(
          await pg.store.sync.unmatchedAfter(destination, all, 100),
          await reference.sync.unmatchedAfter(destination, all, 100),
        );
        assert.deepEqual(await pg.store.sync.counts(destination), await reference.sync.counts(destination));
        assert.deepEqual(
          await pg.store.sync.nextDueAt(destination),
          await reference.sync.nextDueAt(destination),
        );
        const dead = (letters: Awaited<ReturnType<Store['sync']['deadLetters']>>) =>
          [...letters].sort((a, b) => `${a.contact} ${a.list}`.localeCompare(`${b.contact} ${b.list}`));
        assert.deepEqual(
          dead(await pg.store.sync.deadLetters(destination)),
          dead(await reference.sync.deadLetters(destination)),
        );
        const members = [
          { audience: 'cart', profileId: 'p1' },
          { audience: 'viewed', profileId: 'p2' },
        ];
        assert.deepEqual(
          byKey(await pg.store.sync.itemsOfMembers(destination, members)),
          byKey(await reference.sync.itemsOfMembers(destination, members)),
        );
        assert.deepEqual(
          await pg.store.requests.items(destination, 0, 100),
          await reference.requests.items(destination, 0, 100),
        );
      } finally {
        await reference.close();
      }
    }),
    { numRuns: 40 },
  );
});
