import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { IdentityOp } from '../../identity/model.ts';
import type { EventLog, Store } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { openSqlite } from './database.ts';
import { sqliteEventLog } from './event-log.ts';
import { createSqliteStore } from './index.ts';
import { MIGRATIONS } from './migrations.ts';

const dir = mkdtempSync(join(tmpdir(), 'handoff-event-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const freshPath = (): string => join(dir, `log-${++files}.db`);

const T0 = Date.UTC(2025, 0, 1);

const track = (id: string, over: Partial<IncomingEvent> = {}): IncomingEvent => ({
  sourceId: 'web',
  messageId: id,
  type: 'track',
  userId: 'u1',
  anonymousId: null,
  name: 'Product Viewed',
  timestamp: T0,
  receivedAt: T0 + 500,
  message: { type: 'track', event: 'Product Viewed', userId: 'u1', messageId: id },
  ...over,
});

const ids = (n: number, prefix = 'm'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

/** Appends one event per id and says what happened to each. */
async function append(
  log: EventLog,
  messageIds: string[],
  over: Partial<IncomingEvent> = {},
): Promise<string[]> {
  return (await log.append(messageIds.map((id) => track(id, over)))).results;
}

/** A log that merges its ids into the on-disk index every 4 events, so tests cross merges. */
function open(path: string): { db: SqliteDatabase; log: EventLog } {
  const db = openSqlite(path);
  return { db, log: sqliteEventLog(db, { mergeEvery: 4 }) };
}

const count = (db: SqliteDatabase, sql: string): number => db.prepare(sql).pluck().get() as number;

describe('event log dedupe', () => {
  test('a retried messageId is a duplicate whatever its timestamp, body or age', async () => {
    const { db, log } = open(freshPath());
    assert.deepEqual(await append(log, ids(10)), Array(10).fill('stored'));
    assert.deepEqual(await append(log, ['n1']), ['stored']);
    assert.equal(count(db, 'SELECT count(*) FROM event_ids'), 10, 'm1…m10 were merged into event_ids');
    // m1 comes back from event_ids, n1 from the in-memory tail; both with other times.
    const later = { timestamp: T0 + 86_400_000, receivedAt: T0 + 90_000_000 };
    assert.deepEqual(await append(log, ['m1', 'n1', 'n2'], later), ['duplicate', 'duplicate', 'stored']);
    assert.equal(count(db, 'SELECT count(*) FROM events'), 12);
    db.close();
  });

  test('ids stay deduplicated as the in-memory filter over event_ids fills and is rebuilt', async () => {
    const db = openSqlite(freshPath());
    const log = sqliteEventLog(db, { mergeEvery: 1000 });
    const all = ids(120_000);
    for (let i = 0; i < all.length; i += 1000) await append(log, all.slice(i, i + 1000));
    const sample = all.filter((_, i) => i % 997 === 0);
    assert.deepEqual(await append(log, [...sample, 'new']), [...sample.map(() => 'duplicate'), 'stored']);
    db.close();
  });

  test('ids survive a restart, merged or not', async () => {
    const path = freshPath();
    const first = open(path);
    await append(first.log, ids(6));
    first.db.close();
    const second = open(path);
    assert.deepEqual(await append(second.log, ['m1', 'm6', 'm7']), ['duplicate', 'duplicate', 'stored']);
    second.db.close();
  });

  test('two connections to one file (a server and an import) see each other’s ids', async () => {
    const path = freshPath();
    const server = open(path);
    const importer = open(path);
    await append(server.log, ids(3, 's'));
    assert.deepEqual(await append(importer.log, ['s1', 'i1']), ['duplicate', 'stored']);
    // Enough from the importer to make it merge, which the server's tail must notice.
    await append(importer.log, ids(9, 'i').slice(1));
    assert.deepEqual(await append(server.log, ['i1', 'i9', 's3', 's4']), [
      'duplicate',
      'duplicate',
      'duplicate',
      'stored',
    ]);
    assert.deepEqual(await append(importer.log, ['s4']), ['duplicate']);
    server.db.close();
    importer.db.close();
  });

  test('concurrent appends share a commit and keep their own outcomes, first copy wins', async () => {
    const { db, log } = open(freshPath());
    const [a, b, c] = await Promise.all([
      append(log, ['a', 'b']),
      append(log, ['b', 'c', 'c']),
      append(log, ['a', 'd']),
    ]);
    assert.deepEqual(a, ['stored', 'stored']);
    assert.deepEqual(b, ['duplicate', 'stored', 'duplicate']);
    assert.deepEqual(c, ['duplicate', 'stored']);
    assert.deepEqual(
      (await log.readAfter(0, 10)).map((e) => e.messageId),
      ['a', 'b', 'c', 'd'],
    );
    db.close();
  });

  test('a failing append does not fail the appends committed with it', async () => {
    const { db, log } = open(freshPath());
    const broken = track('x', { sourceId: null as unknown as string });
    const [good, bad, retry] = await Promise.allSettled([
      append(log, ['g1']),
      log.append([broken]),
      append(log, ['g1', 'g2']),
    ]);
    assert.deepEqual(good, { status: 'fulfilled', value: ['stored'] });
    assert.equal(bad.status, 'rejected');
    assert.match(String(bad.reason), /NOT NULL/);
    assert.deepEqual(retry, { status: 'fulfilled', value: ['duplicate', 'stored'] });
    assert.deepEqual(
      await append(log, ['x', 'g2']),
      ['stored', 'duplicate'],
      'no id of the rolled-back call stuck',
    );
    db.close();
  });
});

describe('upgrading a database from the unique-index event table', () => {
  test('events keep their offsets, new ones continue above them, and old ids stay deduplicated', async () => {
    const path = freshPath();
    const target = MIGRATIONS.findIndex((sql) => sql.includes('CREATE TABLE events_v2'));
    assert.ok(target > 0);
    const old = new Database(path);
    for (const sql of MIGRATIONS.slice(0, target)) old.exec(sql);
    old.pragma(`user_version = ${target}`);
    const insert = old.prepare(
      `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
       VALUES ('web', ?, 'track', 'u1', NULL, 'Product Viewed', ?, ?, ?)`,
    );
    for (const id of ids(8)) insert.run(id, T0, T0 + 500, JSON.stringify(track(id).message));
    old.exec("DELETE FROM events WHERE message_id = 'm8'"); // offset 8 was handed out once
    old.close();

    const { db, log } = open(path);
    assert.deepEqual(
      (await log.readAfter(0, 10)).map((e) => [e.offset, e.messageId]),
      ids(7).map((id, i) => [i + 1, id]),
    );
    assert.deepEqual(await append(log, ['m1', 'm7', 'n1']), ['duplicate', 'duplicate', 'stored']);
    assert.deepEqual(
      (await log.readAfter(7, 10)).map((e) => e.offset),
      [9],
      'offsets only grow, past one already handed out',
    );
    db.close();
  });
});

describe('upgrading a database whose event ids were hashed with SHA-1', () => {
  test('the index is rebuilt with the current keys and every old id is still a duplicate', async () => {
    const path = freshPath();
    const target = MIGRATIONS.findIndex((sql) => sql.includes('DELETE FROM event_ids'));
    assert.ok(target > 0);
    const first = open(path);
    assert.deepEqual(await append(first.log, ids(10)), Array(10).fill('stored'));
    first.db.close();
    // As the previous release left it: every id indexed, under keys this one never computes.
    const old = new Database(path);
    old.exec('UPDATE event_ids SET key = key + 1');
    old.pragma(`user_version = ${target}`);
    // Columns a later step adds (bulk import jobs) go too: that step runs again on this upgrade.
    old.exec(
      'DROP INDEX sync_items_by_bulk_job; ALTER TABLE sync_items DROP COLUMN bulk_job; ALTER TABLE sync_items DROP COLUMN bulk_ok;',
    );
    old.close();

    const { db, log } = open(path);
    assert.equal(count(db, 'SELECT count(*) FROM event_ids'), 10, 'rebuilt on opening');
    assert.deepEqual(await append(log, ['m1', 'm10', 'n1']), ['duplicate', 'duplicate', 'stored']);
    db.close();
  });
});

describe('the events of a deleted profile', () => {
  /** A store on the file, with a log that merges every 4 events beside it. */
  function openStore(path: string) {
    const db = openSqlite(path);
    return { db, store: createSqliteStore(path, db), log: sqliteEventLog(db, { mergeEvery: 4 }) };
  }

  async function deleteProfileOf(store: Store, messageIds: readonly string[]): Promise<void> {
    const logged = await store.events.readAfter(0, 1000);
    const offsets = logged.filter((e) => messageIds.includes(e.messageId)).map((e) => e.offset);
    const ops: IdentityOp[] = [{ op: 'create', profileId: 'p1', at: T0 }];
    for (const offset of offsets) ops.push({ op: 'event', profileId: 'p1', offset });
    ops.push({ op: 'delete', profileId: 'p1', at: T0 + 1 });
    await store.identity.commit(ops, 'test', 0, 1);
  }

  test('stay duplicates whether their ids were merged or still in memory, and after a restart', async () => {
    const path = freshPath();
    const first = openStore(path);
    assert.deepEqual(await append(first.log, ids(10)), Array(10).fill('stored'));
    await new Promise((resolve) => setImmediate(resolve)); // the merge after the commit
    assert.equal(count(first.db, 'SELECT indexed_through FROM event_ids_state'), 10, 'm1…m10 are merged');
    assert.deepEqual(await append(first.log, ['n0']), ['stored']);
    // m2 and m10 merged, n0 in memory and the newest offset of all.
    await deleteProfileOf(first.store, ['m2', 'm10', 'n0']);
    assert.equal(count(first.db, "SELECT count(*) FROM events WHERE message_id IN ('m2', 'm10', 'n0')"), 0);
    assert.deepEqual(await append(first.log, ['m2', 'n0']), ['duplicate', 'duplicate']);
    first.db.close();

    // A new writer reads its tail from the file: the deleted n0 was above every logged offset.
    const second = openStore(path);
    assert.deepEqual(await append(second.log, ['n0', 'm10', 'n2']), ['duplicate', 'duplicate', 'stored']);
    assert.deepEqual(await append(second.log, ids(8, 'x')), Array(8).fill('stored'));
    await append(second.log, ['x9']);
    assert.deepEqual(await append(second.log, ['n0', 'm2']), ['duplicate', 'duplicate'], 'after more merges');
    assert.equal(count(second.db, "SELECT count(*) FROM events WHERE message_id IN ('m2', 'm10', 'n0')"), 0);
    second.db.close();
  });
});
