import { existsSync } from 'node:fs';
import type { PostgresOptions, Sql } from '../postgres/database.ts';
import { DEFAULT_SCHEMA, openPostgres } from '../postgres/database.ts';
import type { SqliteDatabase } from '../sqlite/database.ts';
import { openSqlite } from '../sqlite/database.ts';
import { CopyRefusedError } from './copy.ts';
import type { PostgresWrite } from './postgres-side.ts';
import { postgresColumns, postgresSide } from './postgres-side.ts';
import type { CopySide, CopyTarget } from './side.ts';
import { sqliteSide } from './sqlite-side.ts';
import { checkMapping } from './tables.ts';
import type { Column } from './values.ts';

/** Both ends of a copy, open. */
export interface CopyEnds {
  source: CopySide;
  target: CopyTarget;
  columns: ReadonlyMap<string, readonly Column[]>;
  close(): Promise<void>;
}

export interface OpenCopyOptions {
  /** Where the copy goes: into PostgreSQL from the SQLite file, or back. */
  to: 'postgres' | 'sqlite';
  sqlitePath: string;
  postgres: PostgresOptions;
  /** How pages are written to PostgreSQL (default `copy`). */
  write?: PostgresWrite;
}

/**
 * Opens the SQLite file and the PostgreSQL schema (each migrated to this Handoff's schema) as the
 * ends of a copy. The SQLite file must exist to copy from it; copied into, it is created.
 */
export async function openCopy(options: OpenCopyOptions): Promise<CopyEnds> {
  if (options.to === 'postgres' && !existsSync(options.sqlitePath))
    throw new CopyRefusedError(`there is no SQLite database at ${options.sqlitePath} to copy from`);
  const schema = options.postgres.schema ?? DEFAULT_SCHEMA;
  const sql: Sql = await openPostgres(options.postgres);
  let db: SqliteDatabase | undefined;
  try {
    const columns = await postgresColumns(sql, schema);
    checkMapping([...columns.keys()]);
    db = openSqlite(options.sqlitePath);
    const pg = postgresSide({ sql, schema, write: options.write });
    const lite = sqliteSide({ db, path: options.sqlitePath, columns });
    const opened = db;
    return {
      source: options.to === 'postgres' ? lite : pg,
      target: options.to === 'postgres' ? pg : lite,
      columns,
      close: async () => {
        opened.close();
        await sql.end({ timeout: 5 });
      },
    };
  } catch (error) {
    db?.close();
    await sql.end({ timeout: 5 });
    throw error;
  }
}
