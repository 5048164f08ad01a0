import type { SqliteDatabase } from '../sqlite/database.ts';
import { settle, writeTransaction } from '../sqlite/database.ts';
import { eventIdKey } from '../sqlite/event-ids.ts';
import type { CopyProgress, CopyTarget, TableProgress } from './side.ts';
import type { TableMapping } from './tables.ts';
import { TABLES } from './tables.ts';
import type { Column, Row } from './values.ts';
import { forSqlite } from './values.ts';

const id = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const list = (names: readonly string[]): string => names.map(id).join(', ');
const ALL = '(all)';

/** What a table is read from: the table, or the SELECT that gives its PostgreSQL columns. */
const readFrom = (t: TableMapping): string => (t.sqlite ? `(${t.sqlite.read})` : id(t.table));
/** What a table is written to: the table, or the staging table `finish` rebuilds it from. */
const writeTo = (t: TableMapping): string => id(t.sqlite?.staging ?? t.table);

const SQLITE_TYPES: Record<string, string> = {
  text: 'TEXT',
  bigint: 'INTEGER',
  integer: 'INTEGER',
  boolean: 'INTEGER',
  'double precision': 'REAL',
};

const keyCondition = (key: readonly string[], op: '>=' | '='): string =>
  `(${list(key)}) ${op} (${key.map(() => '?').join(', ')})`;

/**
 * A SQLite database as either end of a copy. Reads stream from one statement per table, so the
 * database must not be written meanwhile (`handoff store copy` refuses beside a running serve).
 */
export function sqliteSide(options: {
  db: SqliteDatabase;
  path: string;
  /** The tables' columns, for the staging tables a copy into this database writes. */
  columns?: ReadonlyMap<string, readonly Column[]>;
}): CopyTarget {
  const { db, path } = options;
  const hasTable = (name: string): boolean =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  const inserts = new Map<string, ReturnType<typeof db.prepare<unknown[]>>>();
  const saveProgress = (p: TableProgress): void => {
    db.prepare(
      `INSERT INTO store_copy_progress (table_name, last_key, rows, done) VALUES (?, ?, ?, ?)
       ON CONFLICT (table_name) DO UPDATE SET last_key = excluded.last_key, rows = excluded.rows, done = excluded.done`,
    ).run(p.table, p.lastKey === null ? null : JSON.stringify(p.lastKey), p.rows, p.done ? 1 : 0);
  };

  const writePage = writeTransaction(
    db,
    (t: TableMapping, columns: readonly Column[], rows: readonly Row[], p: TableProgress): void => {
      let insert = inserts.get(t.table);
      if (!insert) {
        insert = db.prepare<unknown[]>(
          `INSERT INTO ${writeTo(t)} (${list(columns.map((c) => c.name))}) VALUES (${columns.map(() => '?').join(', ')})`,
        );
        inserts.set(t.table, insert);
      }
      for (const row of rows) insert.run(...(forSqlite(columns, row) as unknown[]));
      saveProgress(p);
    },
  );

  /** The progress table, and a staging table for each table SQLite holds differently. */
  const prepareTables = (): void => {
    db.exec(`CREATE TABLE IF NOT EXISTS store_copy_progress (
      table_name TEXT PRIMARY KEY, last_key TEXT, rows INTEGER NOT NULL, done INTEGER NOT NULL)`);
    for (const t of TABLES) {
      if (!t.sqlite) continue;
      const cols = options.columns?.get(t.table);
      if (!cols) throw new Error(`the columns of ${t.table} are needed to copy into SQLite`);
      db.exec(
        `CREATE TABLE IF NOT EXISTS ${id(t.sqlite.staging)} (${cols
          .map((c) => `${id(c.name)} ${SQLITE_TYPES[c.type] ?? 'TEXT'}`)
          .join(', ')}, PRIMARY KEY (${list(t.key)})) WITHOUT ROWID`,
      );
    }
  };

  const finish = writeTransaction(db, (): void => {
    for (const t of TABLES) for (const statement of t.sqlite?.finish ?? []) db.exec(statement);
    // The event id index, rebuilt from the log and the kept ids of deleted profiles' events, in
    // key order, as the event log merges it.
    db.function('store_copy_event_id_key', { deterministic: true }, (source: unknown, message: unknown) =>
      eventIdKey(String(source), String(message)),
    );
    db.exec(`DELETE FROM event_ids;
      INSERT INTO event_ids (key, seq)
        SELECT store_copy_event_id_key(source_id, message_id) AS key, seq FROM (
          SELECT seq, source_id, message_id FROM events
          UNION ALL SELECT seq, source_id, message_id FROM forgotten_events)
        ORDER BY key, seq;
      UPDATE event_ids_state SET indexed_through = max(
        (SELECT coalesce(max(seq), 0) FROM events), (SELECT coalesce(max(seq), 0) FROM forgotten_events));`);
    db.prepare('UPDATE store_copy_progress SET done = 1 WHERE table_name = ?').run(ALL);
  });

  return {
    description: `SQLite ${path}`,

    // eslint-disable-next-line @typescript-eslint/require-await
    async *read(t, columns, { from, pageSize }) {
      const where = from ? `WHERE ${keyCondition(t.key, '>=')}` : '';
      const statement = db
        .prepare(
          `SELECT ${list(columns.map((c) => c.name))} FROM ${readFrom(t)} ${where} ORDER BY ${list(t.key)}`,
        )
        .raw(true);
      let page: Row[] = [];
      for (const row of statement.iterate(...(from ?? [])) as IterableIterator<Row>) {
        page.push(row);
        if (page.length === pageSize) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },

    count: (t) =>
      settle(
        () =>
          db
            .prepare(`SELECT count(*) AS n FROM ${readFrom(t)}`)
            .pluck()
            .get() as number,
      ),

    lastId: (t) =>
      settle(() => {
        if (!t.identity) return 0;
        const max = db
          .prepare(`SELECT coalesce(max(${id(t.identity)}), 0) FROM ${id(t.table)}`)
          .pluck()
          .get() as number;
        const handed = db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(t.table) as
          number | undefined;
        return Math.max(max, handed ?? 0);
      }),

    progress: () =>
      settle((): CopyProgress | undefined => {
        if (!hasTable('store_copy_progress')) return undefined;
        const rows = db.prepare('SELECT table_name, last_key, rows, done FROM store_copy_progress').all() as {
          table_name: string;
          last_key: string | null;
          rows: number;
          done: number;
        }[];
        const all = rows.find((r) => r.table_name === ALL);
        if (!all) return undefined;
        const tables = new Map<string, TableProgress>();
        for (const r of rows)
          if (r.table_name !== ALL)
            tables.set(r.table_name, {
              table: r.table_name,
              lastKey: r.last_key === null ? null : (JSON.parse(r.last_key) as Row),
              rows: r.rows,
              done: r.done === 1,
            });
        return { source: all.last_key ?? '', finished: all.done === 1, tables };
      }),

    firstNonEmpty: () =>
      settle(() =>
        [...TABLES.map((t) => (t.sqlite ? t.sqlite.staging : t.table)), 'profile_history', 'event_ids'].find(
          (name) =>
            hasTable(name) &&
            db
              .prepare(`SELECT EXISTS (SELECT 1 FROM ${id(name)})`)
              .pluck()
              .get() === 1,
        ),
      ),

    start: (source) =>
      settle(() =>
        writeTransaction(db, () => {
          prepareTables();
          db.exec('DELETE FROM store_copy_progress');
          db.prepare(
            'INSERT INTO store_copy_progress (table_name, last_key, rows, done) VALUES (?, ?, 0, 0)',
          ).run(ALL, source);
        })(),
      ),

    deleteKey: (t, key) =>
      settle(
        () => db.prepare(`DELETE FROM ${writeTo(t)} WHERE ${keyCondition(t.key, '=')}`).run(...key).changes,
      ),

    writePage: (t, columns, rows, progress) => settle(() => writePage(t, columns, rows, progress)),

    setLastId: (t, last) =>
      settle(() => {
        if (!t.identity) return;
        // Only AUTOINCREMENT tables remember the highest id handed out; the others continue after their largest.
        const sql = db
          .prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?")
          .pluck()
          .get(t.table);
        if (typeof sql !== 'string' || !/AUTOINCREMENT/i.test(sql)) return;
        const updated = db
          .prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?')
          .run(last, t.table);
        if (updated.changes === 0)
          db.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(t.table, last);
      }),

    finish: () => settle(finish),
  };
}
