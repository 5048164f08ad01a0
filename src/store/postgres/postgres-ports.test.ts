import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredState, ItemResult } from '../../sync/ports.ts';
import type { Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { openStoreWithSql } from './pg-fixture.ts';
import { openTestPostgresStore } from './testing.ts';

// The PostgreSQL adapter's sync, sources, request log and alert ports, through their methods:
// what only PostgreSQL can get wrong (two callers racing on one row, statements over arrays).

const T0 = Date.UTC(2025, 0, 1);
const D = 'cordial';

const want = (contact: string, list: string, changeSeq: number, desired = true): DesiredState => ({
  contact,
  list,
  audience: list,
  profileId: contact.slice('email:'.length),
  email: contact.slice('email:'.length),
  desired,
  changeSeq,
  cause: 'test',
  version: 'v1',
  changedAt: T0,
  priority: 0,
  dueAt: T0,
});

const outcome = (item: ItemResult['item'], result: ItemResult['result']): ItemResult => ({
  item,
  result,
  attempts: 1,
  nextAttemptAt: T0 + 1000,
  status: result === 'ok' ? 200 : 500,
  message: result,
  request: '{}',
  at: T0 + 10,
});

const withStore = (title: string, body: (store: Store) => Promise<void>): void =>
  void test(title, async () => {
    const store = await openTestPostgresStore();
    try {
      await body(store);
    } finally {
      await store.close();
    }
  });

/** `n` items, all dead-lettered. */
async function deadItems(store: Store, n: number): Promise<{ contact: string; list: string }[]> {
  const desired = Array.from({ length: n }, (_, i) => want(`email:c${i}@x.com`, 'cart', i + 1));
  await store.sync.record(D, { name: `sync:${D}`, from: 0, to: 1 }, desired, []);
  const due = await store.sync.due(D, T0, n);
  await store.sync.results(
    D,
    due.map((item) => outcome(item, 'dead')),
  );
  return due.map(({ contact, list }) => ({ contact, list }));
}

test('sync.record: of two writers from the same cursor position one applies, the other applies nothing', async () => {
  const { store, close } = await openStoreWithSql(4);
  try {
    for (let round = 0; round < 5; round++) {
      const at = await store.cursors.get('sync:race');
      const write = (who: string) =>
        store.sync.record(
          D,
          { name: 'sync:race', from: at, to: at + 1 },
          [want(`email:${who}${round}@x.com`, 'cart', at + 1)],
          [],
        );
      const settled = await Promise.allSettled([write('a'), write('b')]);
      const failed = settled.filter((s) => s.status === 'rejected');
      assert.equal(failed.length, 1, `round ${round}: exactly one writer is refused`);
      assert.ok((failed[0] as PromiseRejectedResult).reason instanceof CursorMovedError);
      assert.equal(await store.cursors.get('sync:race'), at + 1);
      assert.equal((await store.sync.items(D)).length, round + 1, 'only the winner’s item is recorded');
    }
  } finally {
    await close();
  }
});

test('sync.skipDead, sync.retryDead: callers racing over the same dead letters act on each once', async () => {
  const { store, sql, close } = await openStoreWithSql(4);
  try {
    const keys = await deadItems(store, 40);
    const skips = await Promise.all([
      store.sync.skipDead(D, keys, T0 + 20, 'first'),
      store.sync.skipDead(D, [...keys].reverse(), T0 + 20, 'second'),
      store.sync.retryDead(D, keys.slice(0, 20)),
    ]);
    assert.equal(skips[0] + skips[1] + skips[2], 40, 'every dead letter is resolved by exactly one caller');
    const [logged] = await sql<
      { n: number }[]
    >`SELECT count(*)::integer AS n FROM sync_log WHERE result = 'skipped'`;
    assert.equal(logged!.n, skips[0] + skips[1], 'one skipped row per item skipped');
    assert.equal((await store.sync.deadLetters(D)).length, 0);
  } finally {
    await close();
  }
});

withStore(
  'sync.skipDead: a key named twice is skipped and logged once; one not dead is not counted',
  async (store) => {
    const keys = await deadItems(store, 3);
    const n = await store.sync.skipDead(
      D,
      [keys[0]!, keys[0]!, { contact: 'email:nobody@x.com', list: 'cart' }],
      T0,
      'x',
    );
    assert.equal(n, 1);
    assert.equal((await store.requests.items(D, 0, T0 + 100)).dead, 3, 'the sends logged before remain');
    assert.deepEqual(
      (await store.sync.items(D)).map((i) => i.state),
      ['done', 'dead', 'dead'],
    );
    assert.equal(await store.sync.retryDead(D, [keys[1]!, keys[1]!]), 1);
  },
);

withStore(
  'sync.record: a batch of many items, unmatched members set and cleared, moves the cursor once',
  async (store) => {
    const desired = Array.from({ length: 1200 }, (_, i) =>
      want(`email:c${i}@x.com`, i % 2 ? 'cart' : 'viewed', i + 1),
    );
    await store.sync.record(D, { name: `sync:${D}`, from: 0, to: 1200 }, desired, [
      { audience: 'cart', profileId: 'p1', reason: 'no valid email', at: T0 },
      { audience: 'cart', profileId: 'p2', reason: 'no valid email', at: T0 },
      { audience: 'cart', profileId: 'p2', reason: undefined, at: T0 + 1 },
    ]);
    assert.equal(await store.cursors.get(`sync:${D}`), 1200);
    assert.equal((await store.sync.items(D)).length, 1200);
    assert.deepEqual(await store.sync.unmatchedAfter(D, { audience: '', profileId: '' }, 10), [
      { audience: 'cart', profileId: 'p1' },
    ]);
    assert.deepEqual((await store.sync.due(D, T0, 10000)).length, 1200);
    assert.equal(await store.sync.nextDueAt(D), T0);
    const members = [
      { audience: 'cart', profileId: 'c1@x.com' },
      { audience: 'viewed', profileId: 'c2@x.com' },
      { audience: 'viewed', profileId: 'c1@x.com' },
    ];
    assert.deepEqual(
      (await store.sync.itemsOfMembers(D, members)).map((i) => `${i.audience} ${i.contact}`),
      ['cart email:c1@x.com', 'viewed email:c2@x.com'],
    );
    assert.deepEqual(await store.sync.itemsOfMembers(D, []), []);
  },
);

withStore(
  'sources: polls, the latest per audience, and held removals replaced and released',
  async (store) => {
    const poll = (audience: string, at: number, outcome: 'applied' | 'held' | 'failed', error?: string) => ({
      audience,
      at,
      outcome,
      members: at - T0,
      entered: 1,
      exited: 2,
      held: outcome === 'held' ? 3 : 0,
      error,
    });
    await store.sources.recordPoll(poll('b', T0 + 1, 'applied'));
    await store.sources.recordPoll(poll('a', T0 + 2, 'failed', 'timeout'));
    await store.sources.recordPoll(poll('b', T0 + 3, 'held'));
    await store.sources.recordPoll(poll('b', T0 + 2, 'applied'));
    assert.deepEqual(await store.sources.lastPolls(), [
      poll('a', T0 + 2, 'failed', 'timeout'),
      poll('b', T0 + 2, 'applied'),
    ]);
    assert.deepEqual(await store.sources.polls('b', T0 + 2), [
      poll('b', T0 + 3, 'held'),
      poll('b', T0 + 2, 'applied'),
    ]);
    await store.sources.hold({ audience: 'b', at: T0, size: 10, profileIds: ['p1', 'p"2'] });
    await store.sources.hold({ audience: 'b', at: T0 + 5, size: 12, profileIds: ['p3'] });
    await store.sources.hold({ audience: 'a', at: T0, size: 1, profileIds: [] });
    assert.deepEqual(await store.sources.held('b'), {
      audience: 'b',
      at: T0 + 5,
      size: 12,
      profileIds: ['p3'],
    });
    assert.deepEqual(
      (await store.sources.allHeld()).map((h) => h.audience),
      ['a', 'b'],
    );
    await store.sources.release('b');
    assert.equal(await store.sources.held('b'), undefined);
  },
);

withStore(
  'requests: appended in one statement, tallied from a watermark, bucketed, pruned',
  async (store) => {
    assert.equal(await store.requests.watermark(), 0);
    const req = (at: number, outcome: '2xx' | '429', status?: number) => ({
      destination: D,
      method: 'PUT' as const,
      endpoint: 'contact' as const,
      outcome,
      status,
      at,
    });
    await store.requests.append([req(T0, '2xx', 200), req(T0 + 500, '429', 429), req(T0 + 1500, '2xx', 200)]);
    const mark = await store.requests.watermark();
    await store.requests.append([req(T0 + 2500, '429', 429)]);
    await store.requests.append([]);
    const tally = await store.requests.tally(mark);
    assert.equal(tally.to, mark + 1);
    assert.deepEqual(tally.counts, [
      { destination: D, method: 'PUT', endpoint: 'contact', outcome: '429', count: 1 },
    ]);
    assert.deepEqual(await store.requests.counts(D, T0, T0 + 2000), [
      { destination: D, method: 'PUT', endpoint: 'contact', outcome: '2xx', count: 2 },
      { destination: D, method: 'PUT', endpoint: 'contact', outcome: '429', count: 1 },
    ]);
    assert.deepEqual(await store.requests.buckets(D, T0 + 1, 1000), [
      { at: T0, requests: 1, rateLimited: 1 },
      { at: T0 + 1000, requests: 1, rateLimited: 0 },
      { at: T0 + 2000, requests: 1, rateLimited: 1 },
    ]);
    assert.equal(await store.requests.prune(T0 + 1500), 2);
    assert.equal(
      (await store.requests.tally(0)).counts.reduce((n, c) => n + c.count, 0),
      2,
    );
  },
);

withStore('alerts: the last status announced per key', async (store) => {
  assert.deepEqual(await store.alerts.alertStates(), new Map());
  await store.alerts.setAlertState('hook:size', 'warn', T0);
  await store.alerts.setAlertState('hook:match_rate', 'pass', T0);
  await store.alerts.setAlertState('hook:size', 'fail', T0 + 1);
  assert.deepEqual(
    await store.alerts.alertStates(),
    new Map([
      ['hook:match_rate', 'pass'],
      ['hook:size', 'fail'],
    ]),
  );
});

test('commit: a statement that fails rolls the whole pipelined transaction back and leaves its connection clean', async () => {
  // One connection: the commits after the failed one run on the very connection it used.
  const { store, sql, close } = await openStoreWithSql(1);
  try {
    const create = (profileId: string) => ({ op: 'create' as const, profileId, at: T0 });
    const empty = { states: [], entered: [], exited: [], changes: [], scores: [], dropped: [] };
    // A position beyond bigint fails the cursor's UPDATE, the last statement before COMMIT.
    await assert.rejects(
      store.commit({
        cursor: { name: 'processor', from: 0, to: 2 ** 70 },
        identity: [create('p1')],
        audiences: empty,
      }),
      /invalid input syntax for type bigint/,
    );
    assert.equal(await store.identity.getProfile('p1'), undefined, 'the profile was rolled back');
    const [state] = await sql<{ open: boolean }[]>`SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS open`;
    assert.equal(state?.open, false, 'no transaction is left open on the connection');
    await store.commit({ cursor: { name: 'processor', from: 0, to: 3 }, identity: [create('p2')], audiences: empty });
    assert.equal(await store.cursors.get('processor'), 3);
    assert.ok(await store.identity.getProfile('p2'));
    // A moved cursor is found on the server, before any write runs.
    await assert.rejects(
      store.commit({ cursor: { name: 'processor', from: 0, to: 4 }, identity: [create('p3')], audiences: empty }),
      (error: unknown) => error instanceof CursorMovedError && error.actual === 3,
    );
    assert.equal(await store.identity.getProfile('p3'), undefined);
  } finally {
    await close();
  }
});

test('events.append: identifiers with a lone surrogate are stored with U+FFFD in its place, and a retry is a duplicate', async () => {
  const { store, close } = await openStoreWithSql(1);
  try {
    const message = (messageId: string, userId: string) => ({
      sourceId: 'web',
      messageId,
      type: 'track' as const,
      userId,
      anonymousId: null,
      name: 'Product Added',
      timestamp: T0,
      receivedAt: T0,
      message: { type: 'track' as const, event: 'Product Added', userId, messageId },
    });
    const first = await store.events.append([message('m\udc00', '\ud800u1'), message('m2', 'u2')]);
    assert.deepEqual(first.results, ['stored', 'stored']);
    const again = await store.events.append([message('m\udc00', '\ud800u1')]);
    assert.deepEqual(again.results, ['duplicate']);
    const [logged] = await store.events.readAfter(0, 1);
    assert.equal(logged?.messageId, 'm\ufffd');
    assert.equal(logged?.userId, '\ufffdu1');
  } finally {
    await close();
  }
});
