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
