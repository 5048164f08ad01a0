import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { runCli } from '../helpers/cli.ts';
import { FORGOTTEN_ID, buildStore } from '../helpers/store-fixture.ts';
import { carriesOnAfterCopy } from '../helpers/store-copy-carries-on.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../src/store/postgres/testing.ts';
import { TABLES } from '../../src/store/copy/tables.ts';
import { openPostgres } from '../../src/store/postgres/database.ts';
import { copyStore, verifyCopy } from '../../src/store/copy/copy.ts';
import { openCopy } from '../../src/store/copy/open.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';

let fake: FakeCordial;
let dir: string;
let dbPath: string;
let config: string;
const schemas: string[] = [];
const url = testDatabaseUrl();

const schema = (): string => {
  const name = freshSchemaName();
  schemas.push(name);
  return name;
};
const copy = (...args: string[]) =>
  runCli(
    config,
    { FILES_KEY: 'k', CORDIAL_KEY: fake.apiKey, PG_URL: url },
    'store',
    'copy',
    '--postgres-url-env',
    'PG_URL',
    ...args,
  );

/** A connection to the test database, in `schema` when given; bigint read as numbers. */
const pg = (schema?: string) =>
  postgres(url, {
    max: 1,
    onnotice: () => {},
    ...(schema ? { connection: { search_path: schema } } : {}),
    types: {
      bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (t: string) => Number(t) },
    },
  });

/** A table's rows as PostgreSQL holds them, in key order, flags as 0/1. */
async function pgRows(name: string, table: (typeof TABLES)[number]): Promise<unknown[][]> {
  const sql = pg(name);
  try {
    const rows = await sql.unsafe(`SELECT * FROM ${table.table} ORDER BY ${table.key.join(', ')}`).values();
    return rows.map((r) => r.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
  } finally {
    await sql.end();
  }
}

/** The same from a SQLite file, in PostgreSQL's columns (the mapping's read for the tables SQLite holds differently). */
function sqliteRows(path: string, table: (typeof TABLES)[number], columns: string[]): unknown[][] {
  const db = new Database(path, { readonly: true });
  try {
    const from = table.sqlite ? `(${table.sqlite.read})` : table.table;
    return db
      .prepare(`SELECT ${columns.join(', ')} FROM ${from} ORDER BY ${table.key.join(', ')}`)
      .raw(true)
      .all() as unknown[][];
  } finally {
    db.close();
  }
}

before(async () => {
  fake = await startFakeCordial();
  dir = mkdtempSync(join(tmpdir(), 'handoff-store-copy-'));
  dbPath = join(dir, 'h.db');
  config = await buildStore({ dir, dbPath, fake });
});
after(async () => {
  await fake.close();
  for (const s of schemas) await dropSchema(s, url);
  rmSync(dir, { recursive: true, force: true });
});

describe('handoff store copy', () => {
  test('the fixture fills every copied table', () => {
    const db = new Database(dbPath, { readonly: true });
    for (const t of TABLES) {
      const n = db
        .prepare(`SELECT count(*) FROM ${t.sqlite ? `(${t.sqlite.read})` : t.table}`)
        .pluck()
        .get();
      assert.ok((n as number) > 0, `${t.table} has rows`);
    }
    db.close();
  });

  test('copies every table into an empty schema, verifies it, and new offsets continue after the copied ones', async () => {
    const target = schema();
    const { code, out, err } = await copy('--to', 'postgres', '--schema', target);
    assert.equal(code, 0, out + err);
    assert.match(out, /verified: every table has the same rows in PostgreSQL schema/);
    assert.doesNotMatch(out, /MISMATCH/);
    for (const t of TABLES) {
      const rows = await pgRows(target, t);
      const sql = pg();
      const columns = (
        await sql`SELECT column_name FROM information_schema.columns WHERE table_schema = ${target} AND table_name = ${t.table} ORDER BY ordinal_position`
      ).map((c) => c.column_name as string);
      await sql.end();
      assert.deepEqual(rows, sqliteRows(dbPath, t, columns), t.table);
    }
    const sql = pg(target);
    try {
      const lite = new Database(dbPath, { readonly: true });
      const handed = lite
        .prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        .pluck()
        .get() as number;
      const maxSync = lite.prepare('SELECT max(id) FROM sync_log').pluck().get() as number;
      lite.close();
      const [event] = await sql`INSERT INTO events (source_id, message_id, type, ts, received_at, body)
        VALUES ('files', 'after-copy', 'track', 0, 0, '{}') RETURNING seq`;
      assert.equal(
        Number(event!.seq),
        handed + 1,
        'the log continues after the last offset SQLite handed out',
      );
      const [log] =
        await sql`INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, at)
        VALUES ('cordial', 'c', 'l', 'a', true, 1, 'sent', 0) RETURNING id`;
      assert.equal(Number(log!.id), maxSync + 1);
    } finally {
      await sql.end();
    }
    const again = await copy('--to', 'postgres', '--schema', target);
    assert.equal(again.code, 1, 'the row added since is a difference');
    assert.match(again.out, /the copy was finished already; verifying it/);
    assert.match(again.out, /\| events \| \d+ \| \d+ \| [0-9a-f]{16} \| [0-9a-f]{16} \| MISMATCH \|/);
    assert.match(again.err, /2 table\(s\) differ: events, sync_log/);
  });

  test('a changed value is a checksum mismatch even when the counts agree', async () => {
    const target = schema();
    assert.equal((await copy('--to', 'postgres', '--schema', target)).code, 0);
    const sql = pg(target);
    await sql`UPDATE memberships SET held_out = NOT held_out WHERE profile_id = (SELECT min(profile_id) FROM memberships)`;
    await sql.end();
    const { code, out } = await copy('--to', 'postgres', '--schema', target);
    assert.equal(code, 1);
    const line = out.split('\n').find((l) => l.startsWith('| memberships |'))!;
    const [, , rowsA, rowsB] = line.split('|').map((s) => s.trim());
    assert.equal(rowsA, rowsB);
    assert.match(line, /MISMATCH/);
  });

  test('refuses a schema that holds rows and no interrupted copy', async () => {
    const target = schema();
    const sql = await openPostgres({ url, schema: target });
    await sql`INSERT INTO cursors VALUES ('processor', 7)`;
    await sql.end();
    const { code, err } = await copy('--to', 'postgres', '--schema', target);
    assert.equal(code, 2);
    assert.match(
      err,
      new RegExp(
        `PostgreSQL schema ${target} is not empty \\(cursors has rows\\) and holds no interrupted copy`,
      ),
    );
  });

  test('refuses while a serve runs on the SQLite file', async () => {
    writeFileSync(
      `${dbPath}.serve`,
      JSON.stringify({ pid: process.pid, state: 'serving', since: Date.now() }),
    );
    try {
      const { code, err } = await copy('--to', 'postgres', '--schema', schema());
      assert.equal(code, 2);
      assert.match(
        err,
        new RegExp(`a serve \\(pid ${process.pid}\\) is running on this store: stop it first`),
      );
    } finally {
      rmSync(`${dbPath}.serve`);
    }
  });

  test('an interrupted copy resumes where it stopped, without losing or repeating a row', async () => {
    const target = schema();
    const options = { to: 'postgres' as const, sqlitePath: dbPath, postgres: { url, schema: target } };
    let interruptions = 0;
    let pages = 0;
    for (;;) {
      const ends = await openCopy(options);
      try {
        await copyStore({
          ...ends,
          pageSize: 2,
          afterPage: () => {
            if (++pages % 7 === 0) throw new Error('interrupted');
          },
        });
        break;
      } catch (error) {
        assert.equal((error as Error).message, 'interrupted');
        interruptions++;
      } finally {
        await ends.close();
      }
    }
    assert.ok(interruptions > 5, `interrupted ${interruptions} times`);
    const ends = await openCopy(options);
    try {
      const checks = await verifyCopy(ends);
      assert.deepEqual(
        checks.filter((c) => !c.ok),
        [],
      );
      assert.equal(
        checks.find((c) => c.table === 'monitor_samples')?.targetRows,
        4,
        'the twice-held sample kept twice',
      );
    } finally {
      await ends.close();
    }
  });

  test('round trip: SQLite → PostgreSQL → a new SQLite file holds the same rows, and the SQLite store reads it', async () => {
    const target = schema();
    assert.equal((await copy('--to', 'postgres', '--schema', target)).code, 0);
    const back = join(dir, 'back.db');
    const res = await copy('--to', 'sqlite', '--schema', target, '--sqlite-path', back);
    assert.equal(res.code, 0, res.out + res.err);
    assert.match(res.out, /copying PostgreSQL schema .* into SQLite .*back\.db/);
    const a = new Database(dbPath, { readonly: true });
    const b = new Database(back, { readonly: true });
    try {
      for (const t of TABLES) {
        const from = t.sqlite ? `(${t.sqlite.read})` : t.table;
        const columns = t.table === 'profiles' ? 'id, created_at, merged_into, deleted_at' : '*';
        const q = `SELECT ${columns} FROM ${from} ORDER BY ${t.key.join(', ')}`;
        assert.deepEqual(b.prepare(q).raw(true).all(), a.prepare(q).raw(true).all(), t.table);
      }
      const seq = "SELECT seq FROM sqlite_sequence WHERE name = 'events'";
      assert.equal(b.prepare(seq).pluck().get(), a.prepare(seq).pluck().get());
      assert.equal(
        b.prepare('SELECT count(*) FROM event_ids').pluck().get(),
        a
          .prepare('SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM forgotten_events)')
          .pluck()
          .get(),
        'the event id index covers the log and the kept ids of deleted events',
      );
      assert.equal(
        b.prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'store_copy_profile%'").pluck().get(),
        0,
      );
    } finally {
      a.close();
      b.close();
    }
    // Read through the ports, both files answer alike; a message already logged is a duplicate in the copy too.
    const stores = [createSqliteStore(dbPath), createSqliteStore(back)];
    try {
      const [x, y] = stores as [ReturnType<typeof createSqliteStore>, ReturnType<typeof createSqliteStore>];
      assert.deepEqual(await y.events.readAfter(0, 1000), await x.events.readAfter(0, 1000));
      const profileIds = new Database(back, { readonly: true })
        .prepare('SELECT id FROM profiles')
        .pluck()
        .all() as string[];
      for (const id of profileIds)
        assert.deepEqual(await y.identity.getProfile(id), await x.identity.getProfile(id), id);
      const [first] = await x.events.readAfter(0, 1);
      const { offset: _offset, ...incoming } = first!;
      const appended = await y.events.append([
        incoming,
        { ...incoming, messageId: FORGOTTEN_ID },
        { ...incoming, messageId: 'new-after-copy' },
      ]);
      assert.deepEqual(appended.results, ['duplicate', 'duplicate', 'stored']);
      const [added] = await y.events.readAfter((await x.events.readAfter(0, 1000)).at(-1)!.offset, 10);
      const handed = new Database(dbPath, { readonly: true })
        .prepare("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        .pluck()
        .get() as number;
      assert.equal(added?.offset, handed + 1, "the copy's log continues after the offsets handed out");
    } finally {
      for (const s of stores) await s.close();
    }
  });

  test('the app on a copy carries on where the original stopped: nothing sent again, one new change for one new event', async () => {
    const target = schema();
    assert.equal((await copy('--to', 'postgres', '--schema', target)).code, 0);
    const back = join(dir, 'carry-on.db');
    assert.equal((await copy('--to', 'sqlite', '--schema', target, '--sqlite-path', back)).code, 0);
    await carriesOnAfterCopy({ dir, dbPath, target: { path: back }, fake });
    await carriesOnAfterCopy({ dir, dbPath, target: { schema: target, url }, fake });
  });
});
