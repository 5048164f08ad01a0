import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TransactionSql } from 'postgres';
import type { Sql } from '../postgres/database.ts';
import type { CopyProgress, CopyTarget, TableProgress } from './side.ts';
import type { TableMapping } from './tables.ts';
import { TABLES } from './tables.ts';
import type { Column, Row } from './values.ts';
import { arrayLiteral, copyText, forPostgres } from './values.ts';

/** How pages are written: `COPY … FROM STDIN`, or one `INSERT … SELECT FROM unnest(…)` a page. */
export type PostgresWrite = 'copy' | 'unnest';

const id = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const list = (names: readonly string[]): string => names.map(id).join(', ');
const ALL = '(all)';

/** The columns of each table in the schema, in their order, with their types. */
export async function postgresColumns(sql: Sql, schema: string): Promise<Map<string, Column[]>> {
  const rows = await sql<{ table_name: string; column_name: string; data_type: string }[]>`
    SELECT table_name, column_name, data_type FROM information_schema.columns
    WHERE table_schema = ${schema} ORDER BY table_name, ordinal_position`;
  const tables = new Map<string, Column[]>();
  for (const r of rows) {
    let columns = tables.get(r.table_name);
    if (!columns) tables.set(r.table_name, (columns = []));
    columns.push({ name: r.column_name, type: r.data_type });
  }
  return tables;
}

/** A (multi-column) key condition: `(a, b) >= ($1, $2)`. */
const keyCondition = (key: readonly string[], op: '>=' | '=', first = 1): string =>
  `(${list(key)}) ${op} (${key.map((_, i) => `$${first + i}`).join(', ')})`;

/** A PostgreSQL schema of an open pool (search_path set to it), as either end of a copy. */
export function postgresSide(options: { sql: Sql; schema: string; write?: PostgresWrite }): CopyTarget {
  const { sql, schema } = options;
  const write = options.write ?? 'copy';
  const sequence = (t: TableMapping): string =>
    `pg_get_serial_sequence('${schema}.${t.table}', '${t.identity}')`;

  const saveProgress = async (tx: TransactionSql, p: TableProgress): Promise<void> => {
    await tx`INSERT INTO store_copy_progress (table_name, last_key, rows, done)
      VALUES (${p.table}, ${p.lastKey === null ? null : JSON.stringify(p.lastKey)}, ${p.rows}, ${p.done})
      ON CONFLICT (table_name) DO UPDATE SET last_key = excluded.last_key, rows = excluded.rows, done = excluded.done`;
  };

  const insert = async (
    tx: TransactionSql,
    t: TableMapping,
    columns: readonly Column[],
    rows: readonly Row[],
  ): Promise<void> => {
    const converted = rows.map((r) => forPostgres(columns, r));
    if (write === 'copy') {
      const stream = await tx
        .unsafe(`COPY ${id(t.table)} (${list(columns.map((c) => c.name))}) FROM STDIN`)
        .writable();
      await pipeline(Readable.from([copyText(converted)]), stream);
      return;
    }
    const arrays = columns.map((_, i) => arrayLiteral(converted.map((r) => r[i]!)));
    const casts = columns.map((c, i) => `$${i + 1}::text::${c.type}[]`).join(', ');
    await tx.unsafe(
      `INSERT INTO ${id(t.table)} (${list(columns.map((c) => c.name))}) SELECT * FROM unnest(${casts})`,
      arrays,
    );
  };

  return {
    description: `PostgreSQL schema ${schema}`,

    async *read(t, columns, { from, pageSize }) {
      const where = from ? `WHERE ${keyCondition(t.key, '>=')}` : '';
      const query = `SELECT ${list(columns.map((c) => c.name))} FROM ${id(t.table)} ${where} ORDER BY ${list(t.key)}`;
      for await (const page of sql
        .unsafe(query, (from ?? []) as never[])
        .values()
        .cursor(pageSize))
        yield page;
    },

    async count(t) {
      const [row] = await sql.unsafe<{ n: number }[]>(`SELECT count(*)::bigint AS n FROM ${id(t.table)}`);
      return row!.n;
    },

    async lastId(t) {
      if (!t.identity) return 0;
      const [seq] = await sql.unsafe<{ name: string }[]>(`SELECT ${sequence(t)} AS name`);
      const [used] = await sql.unsafe<{ last: number | null; called: boolean }[]>(
        `SELECT last_value AS last, is_called AS called FROM ${seq!.name}`,
      );
      const [max] = await sql.unsafe<{ n: number | null }[]>(
        `SELECT max(${id(t.identity)}) AS n FROM ${id(t.table)}`,
      );
      return Math.max(used?.called ? Number(used.last) : 0, max?.n ?? 0);
    },

    async progress(): Promise<CopyProgress | undefined> {
      const [exists] = await sql<
        { table: string | null }[]
      >`SELECT to_regclass('store_copy_progress')::text AS table`;
      if (!exists?.table) return undefined;
      const rows = await sql<{ table_name: string; last_key: string | null; rows: number; done: boolean }[]>`
        SELECT table_name, last_key, rows, done FROM store_copy_progress`;
      const all = rows.find((r) => r.table_name === ALL);
      if (!all) return undefined;
      const tables = new Map<string, TableProgress>();
      for (const r of rows)
        if (r.table_name !== ALL)
          tables.set(r.table_name, {
            table: r.table_name,
            lastKey: r.last_key === null ? null : (JSON.parse(r.last_key) as Row),
            rows: r.rows,
            done: r.done,
          });
      return { source: all.last_key ?? '', finished: all.done, tables };
    },

    async firstNonEmpty() {
      for (const t of TABLES) {
        const [row] = await sql.unsafe<{ any: boolean }[]>(
          `SELECT EXISTS (SELECT 1 FROM ${id(t.table)}) AS any`,
        );
        if (row?.any) return t.table;
      }
      return undefined;
    },

    async start(source) {
      await sql.begin(async (tx) => {
        await tx`CREATE TABLE IF NOT EXISTS store_copy_progress (
          table_name text PRIMARY KEY, last_key text, rows bigint NOT NULL, done boolean NOT NULL)`;
        await tx`DELETE FROM store_copy_progress`;
        await tx`INSERT INTO store_copy_progress (table_name, last_key, rows, done) VALUES (${ALL}, ${source}, 0, false)`;
      });
    },

    async deleteKey(t, key) {
      const result = await sql.unsafe(
        `DELETE FROM ${id(t.table)} WHERE ${keyCondition(t.key, '=')}`,
        key as never[],
      );
      return result.count;
    },

    async writePage(t, columns, rows, progress) {
      await sql.begin(async (tx) => {
        if (rows.length > 0) await insert(tx, t, columns, rows);
        await saveProgress(tx, progress);
      });
    },

    async setLastId(t, last) {
      if (!t.identity) return;
      await sql.unsafe(`SELECT setval(${sequence(t)}, ${Math.max(last, 1)}, ${last > 0})`);
    },

    async finish() {
      // Fresh statistics: the planner otherwise takes the copied tables for empty ones.
      await sql.unsafe(`ANALYZE ${TABLES.map((t) => id(t.table)).join(', ')}`);
      await sql`UPDATE store_copy_progress SET done = true WHERE table_name = ${ALL}`;
    },
  };
}
