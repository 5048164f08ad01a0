import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { storeContract } from '../contract/store-contract.ts';
import { createSqliteStore } from './index.ts';
import { MIGRATIONS } from './migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'handoff-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** A new database file; in a subdirectory that does not exist yet, as ./data on a first start. */
const freshPath = (): string => join(dir, `store-${++files}`, 'handoff.db');

storeContract('SQLite', () => Promise.resolve(createSqliteStore(freshPath())));

const T0 = Date.UTC(2025, 0, 1);

/** Reads a pragma through a connection of its own, so the adapter's view is not involved. */
function pragma(path: string, name: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
}

describe('SQLite store file', () => {
  test('what was committed is there after closing and reopening', async () => {
    const path = freshPath();
    const first = createSqliteStore(path);
    await first.events.append([
      {
        sourceId: 'web',
        messageId: 'm1',
        type: 'identify',
        userId: 'u1',
        anonymousId: null,
        name: null,
        timestamp: T0,
        receivedAt: T0 + 1,
        message: { type: 'identify', userId: 'u1', traits: { city: 'Leeds' } },
      },
    ]);
    const [event] = await first.events.readAfter(0, 1);
    await first.identity.commit(
      [
        { op: 'create', profileId: 'p1', at: T0 },
        { op: 'attach', profileId: 'p1', identifier: { kind: 'userId', value: 'u1' }, at: T0 },
        { op: 'trait', profileId: 'p1', name: 'city', value: 'Leeds', ts: T0 },
      ],
      'processor',
      0,
      event!.offset,
    );
    const before = await first.identity.getProfile('p1');
    await first.close();

    const reopened = createSqliteStore(path);
    try {
      assert.deepEqual(await reopened.events.readAfter(0, 10), [event]);
      assert.equal(await reopened.events.head(), event!.offset);
      assert.equal(await reopened.cursors.get('processor'), event!.offset);
      assert.deepEqual(await reopened.identity.findProfile({ kind: 'userId', value: 'u1' }), before);
      assert.deepEqual((await reopened.events.append([{ ...event!, message: event!.message }])).results, [
        'duplicate',
      ]);
    } finally {
      await reopened.close();
    }
  });

  test('is in WAL mode, and reopening applies no migration twice', async () => {
    const path = freshPath();
    await createSqliteStore(path).close();
    assert.equal(pragma(path, 'user_version'), MIGRATIONS.length);
    assert.equal(pragma(path, 'journal_mode'), 'wal');
    for (let i = 0; i < 2; i++) await createSqliteStore(path).close();
    assert.equal(pragma(path, 'user_version'), MIGRATIONS.length);
  });

  test('a database from a newer Handoff is refused with a message that says so', async () => {
    const path = freshPath();
    await createSqliteStore(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    assert.throws(
      () => createSqliteStore(path),
      (error: Error) =>
        error.message.includes(`schema version ${MIGRATIONS.length + 1}`) &&
        /upgrade Handoff/.test(error.message),
    );
    assert.equal(pragma(path, 'user_version'), MIGRATIONS.length + 1, 'the newer database is left untouched');
  });

  test(':memory: gives a working throwaway store', async () => {
    const store = createSqliteStore(':memory:');
    try {
      assert.equal(await store.events.head(), 0);
    } finally {
      await store.close();
    }
  });
});

describe('upgrading a database whose history has one row per event', () => {
  test('each profile keeps its events, numbered profiles carry on, and merges and new events land', async () => {
    const path = freshPath();
    const target = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE profile_history'));
    assert.ok(target > 0);
    const old = createSqliteStore(path);
    await old.close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${target}`);
    raw.exec('DROP VIEW profile_events; DROP TABLE profile_history; DROP INDEX profiles_by_num;');
    raw.exec('ALTER TABLE profiles DROP COLUMN num;');
    // Columns a later step adds (bulk import jobs) go too: that step runs again on this upgrade.
    raw.exec(
      'DROP INDEX sync_items_by_bulk_job; ALTER TABLE sync_items DROP COLUMN bulk_job; ALTER TABLE sync_items DROP COLUMN bulk_ok;',
    );
    raw.exec(
      'CREATE TABLE profile_events (profile_id TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (profile_id, seq)) WITHOUT ROWID',
    );
    const insertEvent = raw.prepare(
      `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
       VALUES ('web', ?, 'track', ?, NULL, 'Product Viewed', ?, ?, ?)`,
    );
    const owners = ['p-a', 'p-b', 'p-a', 'p-c', 'p-b', 'p-a'];
    owners.forEach((owner, i) => {
      const body = JSON.stringify({
        type: 'track',
        event: 'Product Viewed',
        userId: owner,
        messageId: `m${i}`,
      });
      insertEvent.run(`m${i}`, owner, T0 + i, T0 + i, body);
    });
    for (const [i, id] of ['p-b', 'p-a', 'p-c'].entries())
      raw.prepare('INSERT INTO profiles (id, created_at) VALUES (?, ?)').run(id, T0 + i);
    owners.forEach((owner, i) => raw.prepare('INSERT INTO profile_events VALUES (?, ?)').run(owner, i + 1));
    raw.close();

    const store = createSqliteStore(path);
    try {
      const offsets = async (id: string) => (await store.audiences.history([id])).map((e) => e.offset);
      assert.deepEqual(await offsets('p-a'), [1, 3, 6]);
      assert.deepEqual(await offsets('p-b'), [2, 5]);
      assert.deepEqual(await offsets('p-c'), [4]);
      // p-c merges into p-a, then a new profile and both survivors get events.
      await store.events.append(
        [7, 8, 9].map((n) => ({
          sourceId: 'web',
          messageId: `m${n}`,
          type: 'track' as const,
          userId: 'u',
          anonymousId: null,
          name: 'Product Viewed',
          timestamp: T0 + n,
          receivedAt: T0 + n,
          message: { type: 'track' as const, event: 'Product Viewed', userId: 'u', messageId: `m${n}` },
        })),
      );
      await store.commit({
        identity: [
          { op: 'merge', from: 'p-c', into: 'p-a', cause: 'identify', at: T0 + 9, offset: 7 },
          { op: 'event', profileId: 'p-a', offset: 7 },
          { op: 'create', profileId: 'p-d', at: T0 + 9 },
          { op: 'event', profileId: 'p-d', offset: 8 },
          { op: 'event', profileId: 'p-b', offset: 9 },
        ],
        audiences: { states: [], entered: [], exited: [], changes: [], scores: [], dropped: [] },
      });
      assert.deepEqual(await offsets('p-a'), [1, 3, 4, 6, 7]);
      assert.deepEqual(await offsets('p-b'), [2, 5, 9]);
      assert.deepEqual(await offsets('p-c'), []);
      assert.deepEqual(await offsets('p-d'), [8]);
      const check = new Database(path, { readonly: true });
      try {
        const nums = check.prepare('SELECT id, num FROM profiles ORDER BY num').all();
        assert.deepEqual(nums, [
          { id: 'p-b', num: 1 },
          { id: 'p-a', num: 2 },
          { id: 'p-c', num: 3 },
          { id: 'p-d', num: 4 },
        ]);
      } finally {
        check.close();
      }
    } finally {
      await store.close();
    }
  });
});

describe('upgrading a database whose request ids could be handed out again', () => {
  test('the requests keep their ids, and new ones continue above them once every request was pruned', async () => {
    const path = freshPath();
    const target = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE sync_requests_v2'));
    assert.ok(target > 0);
    await createSqliteStore(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${target}`);
    // As the previous release made it: without AUTOINCREMENT.
    raw.exec(`DROP TABLE sync_requests;
      CREATE TABLE sync_requests (id INTEGER PRIMARY KEY, destination TEXT NOT NULL, method TEXT NOT NULL,
        endpoint TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER, at INTEGER NOT NULL);
      CREATE INDEX sync_requests_by_time ON sync_requests (destination, at);
      INSERT INTO sync_requests VALUES (7, 'cordial', 'PUT', 'contact', '2xx', 200, ${T0}),
        (9, 'cordial', 'GET', 'list', '429', 429, ${T0 + 1});`);
    raw.close();

    const store = createSqliteStore(path);
    try {
      assert.equal(await store.requests.watermark(), 9);
      assert.deepEqual(
        (await store.requests.tally(8)).counts.map((c) => c.outcome),
        ['429'],
      );
      assert.equal(await store.requests.prune(T0 + 10), 2);
      await store.requests.append([
        {
          destination: 'cordial',
          method: 'PUT',
          endpoint: 'contact',
          outcome: '2xx',
          status: 200,
          at: T0 + 20,
        },
      ]);
      assert.equal(await store.requests.watermark(), 10);
    } finally {
      await store.close();
    }
  });
});
