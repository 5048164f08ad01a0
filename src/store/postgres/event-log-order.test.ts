import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../config/load.ts';
import { readBatch } from '../../engine/batch-read.ts';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { Store } from '../ports.ts';
import { track } from '../contract/fixtures.ts';
import type { Sql } from './database.ts';
import { openPostgres } from './database.ts';
import { postgresStore } from './index.ts';
import { openStoreWithSql } from './pg-fixture.ts';
import { testDatabaseUrl } from './testing.ts';

// The event log's order across writers: two stores on one schema (two pools, as two serve
// processes have) append while the processor's read path reads. An append that took its offset
// and has not committed yet must hold back every reader from offsets above it, or the reader moves
// its cursor past it and never reads it. PostgreSQL only: SQLite has one writer.

const parsed = parseConfig('sources: [{ id: web, writeKey: { env: K } }]', 'order.yaml', { K: 'k' });
if (!parsed.ok) throw new Error(parsed.error.message);
const policy = parsed.value.identity;

/** The processor's read path from `after` to the log's end: the offsets read, and the cursor it reaches. */
async function readFrom(store: Store, after: number): Promise<{ offsets: number[]; cursor: number }> {
  const offsets: number[] = [];
  let cursor = after;
  for (;;) {
    const read = await readBatch({
      log: store.events,
      after: cursor,
      limit: 100,
      chunk: 10,
      policy,
      keepsMessage: () => true,
    });
    if (read.last === undefined) return { offsets, cursor };
    offsets.push(...read.events.map((e) => e.offset), ...read.unreadable.map((u) => u.event.offset));
    cursor = read.last;
  }
}

/** Waits, polling the server, until `ready` answers true or `done` settles; which one came first. */
async function until(ready: () => Promise<boolean>, done: Promise<unknown>): Promise<'ready' | 'done'> {
  let settled = false;
  done.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 2000; i++) {
    if (settled) return 'done';
    if (await ready()) return 'ready';
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('neither ready nor done after 20 s');
}

/**
 * A trigger that holds the insert of a row whose message id starts with `held-` until `gate`
 * lets go of advisory lock `key`: the row has its offset and its transaction stays open.
 */
async function holdInserts(sql: Sql, key: number): Promise<void> {
  await sql.unsafe(`
    CREATE FUNCTION hold_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.message_id LIKE 'held-%' THEN
        PERFORM pg_advisory_lock_shared(${key});
        PERFORM pg_advisory_unlock_shared(${key});
      END IF;
      RETURN NEW;
    END $$`);
  await sql.unsafe(
    'CREATE TRIGGER hold_insert BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION hold_insert()',
  );
}

const event = (messageId: string, n: number): IncomingEvent =>
  track(n, { messageId, message: { type: 'track', event: 'Product Viewed', userId: 'u1', messageId } });

test('events.append from two stores on one schema: the read path never passes an offset still uncommitted', async () => {
  const first = await openStoreWithSql();
  const [row] = await first.sql<{ schema: string }[]>`SELECT current_schema() AS schema`;
  const schema = row!.schema;
  const secondSql = await openPostgres({ url: testDatabaseUrl(), schema, poolSize: 2 });
  const second = postgresStore(secondSql);
  const gate = await first.sql.reserve();
  try {
    const key = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
    await holdInserts(first.sql, key);
    await first.store.events.append([event('before', 1)]);
    const { offsets: before, cursor: start } = await readFrom(first.store, 0);
    assert.equal(before.length, 1);

    await gate`SELECT pg_advisory_lock(${key})`;
    // Writer 1 takes its offset and waits inside its transaction.
    const held = first.store.events.append([event('held-1', 2)]);
    const holder = async (): Promise<number | undefined> => {
      const [row] = await gate<{ pid: number }[]>`
        SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = ${key} AND objsubid = 1`;
      return row?.pid;
    };
    assert.equal(await until(async () => (await holder()) !== undefined, held), 'ready', 'writer 1 is held');
    const holderPid = (await holder())!;

    // Writer 2 appends meanwhile: it commits at once, or it waits for writer 1.
    const free = second.events.append([event('free-2', 3)]);
    const waitsForHolder = async (): Promise<boolean> =>
      (await gate`SELECT 1 FROM pg_stat_activity WHERE ${holderPid}::integer = ANY(pg_blocking_pids(pid))`)
        .length > 0;
    if ((await until(waitsForHolder, free)) === 'ready') {
      // Writer 2 waits for writer 1 before it takes an offset: the last one taken is writer 1's.
      const [taken] = await gate<{ last: number }[]>`
        SELECT last_value AS last FROM pg_sequences WHERE schemaname = ${schema} AND sequencename = 'events_seq_seq'`;
      assert.equal(taken?.last, before[0]! + 1);
    }

    // The processor reads now, before writer 1 commits, and moves its cursor to what it read.
    const during = await readFrom(first.store, start);

    await gate`SELECT pg_advisory_unlock(${key})`;
    assert.deepEqual((await held).results, ['stored']);
    assert.deepEqual((await free).results, ['stored']);
    const after = await readFrom(first.store, during.cursor);

    const committed = (await first.sql<{ seq: number }[]>`SELECT seq FROM events ORDER BY seq`).map(
      (r) => r.seq,
    );
    assert.equal(committed.length, 3);
    assert.deepEqual(
      [...before, ...during.offsets, ...after.offsets],
      committed,
      `read during: [${during.offsets.join(', ')}], read after: [${after.offsets.join(', ')}]`,
    );
  } finally {
    await gate`SELECT pg_advisory_unlock_all()`.catch(() => {});
    gate.release();
    await second.close();
    await first.close();
  }
});

test('events.append from three stores at once while the read path reads: every committed event is read once, in offset order', async () => {
  const first = await openStoreWithSql(2);
  const [row] = await first.sql<{ schema: string }[]>`SELECT current_schema() AS schema`;
  const others = await Promise.all(
    [0, 1].map(async () =>
      postgresStore(await openPostgres({ url: testDatabaseUrl(), schema: row!.schema, poolSize: 2 })),
    ),
  );
  try {
    const writers = [first.store, ...others].map(async (store, w) => {
      for (let i = 0; i < 40; i++)
        await store.events.append(Array.from({ length: 5 }, (_, j) => event(`w${w}-${i}-${j}`, i)));
    });
    let writing = true;
    const written = Promise.all(writers);
    written.then(
      () => (writing = false),
      () => (writing = false),
    );
    const offsets: number[] = [];
    let cursor = 0;
    while (writing) {
      const read = await readFrom(first.store, cursor);
      offsets.push(...read.offsets);
      cursor = read.cursor;
    }
    await written;
    offsets.push(...(await readFrom(first.store, cursor)).offsets);
    const committed = (await first.sql<{ seq: number }[]>`SELECT seq FROM events ORDER BY seq`).map(
      (r) => r.seq,
    );
    assert.equal(committed.length, 3 * 40 * 5);
    assert.deepEqual(offsets, committed);
  } finally {
    for (const store of others) await store.close();
    await first.close();
  }
});
