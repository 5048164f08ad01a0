import type { TableMapping } from './tables.ts';
import type { Column, Row } from './values.ts';

/** How far a table's copy got: recorded in the target in the same transaction as its rows. */
export interface TableProgress {
  table: string;
  /** The key of the last row written; null before the first page. */
  lastKey: Row | null;
  rows: number;
  done: boolean;
}

/** The progress of a whole copy: what it copies from, and each table's progress. */
export interface CopyProgress {
  source: string;
  /** Set once every table is copied and the target's own structures are rebuilt. */
  finished: boolean;
  tables: Map<string, TableProgress>;
}

/** One end of a copy: a store's tables, read or written in the shape PostgreSQL defines. */
export interface CopySide {
  /** Where it is, for messages: `SQLite data/handoff.db`, `PostgreSQL schema handoff`. */
  readonly description: string;
  /** Reads a table in key order, `pageSize` rows at a time; from `from` on (its rows included) when given. */
  read(
    table: TableMapping,
    columns: readonly Column[],
    options: { from?: Row | undefined; pageSize: number },
  ): AsyncIterable<Row[]>;
  count(table: TableMapping): Promise<number>;
  /** The last value a table's identity column handed out (0 when none). */
  lastId(table: TableMapping): Promise<number>;
}

/** The end a copy writes to. */
export interface CopyTarget extends CopySide {
  /** The progress of a copy into this store; undefined when none was started. */
  progress(): Promise<CopyProgress | undefined>;
  /** The first copied table holding rows, if any. */
  firstNonEmpty(): Promise<string | undefined>;
  /** Records a new copy's start. */
  start(source: string): Promise<void>;
  /** Deletes the rows whose key is `key` (the last page's last row, read again on resume); how many. */
  deleteKey(table: TableMapping, key: Row): Promise<number>;
  /** Writes a page of rows and the table's progress in one transaction. */
  writePage(
    table: TableMapping,
    columns: readonly Column[],
    rows: readonly Row[],
    progress: TableProgress,
  ): Promise<void>;
  /** Makes the identity column hand out values after `last`. */
  setLastId(table: TableMapping, last: number): Promise<void>;
  /** Rebuilds this store's own structures from the copied rows and records the copy finished. */
  finish(): Promise<void>;
}
