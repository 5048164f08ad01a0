import type { CopySide, CopyTarget, TableProgress } from './side.ts';
import type { TableMapping } from './tables.ts';
import { TABLES } from './tables.ts';
import type { Column, Row } from './values.ts';
import { TableChecksum, canonical } from './values.ts';

/** Rows a page holds by default: one transaction, and one progress record, each. */
export const DEFAULT_PAGE_SIZE = 5_000;

/** A copy that must not start: the message says why and what to do. */
export class CopyRefusedError extends Error {
  readonly code = 'copy_refused';
}

/** What a copy reports as it goes. */
export type CopyEvent =
  | { kind: 'table'; table: string; total: number; copied: number }
  | { kind: 'page'; table: string; copied: number };

export interface CopyOptions {
  source: CopySide;
  target: CopyTarget;
  /** Each table's columns, PostgreSQL's: the shape both ends are read and written in. */
  columns: ReadonlyMap<string, readonly Column[]>;
  pageSize?: number;
  onEvent?: (event: CopyEvent) => void;
  /** Runs after each page is committed; a failure here stops the copy as an interruption would. */
  afterPage?: (table: string, page: number) => void;
}

export interface TableCopy {
  table: string;
  rows: number;
  seconds: number;
}

export interface CopyResult {
  /** True when the target held a finished copy of this source already: nothing was copied. */
  alreadyCopied: boolean;
  /** True when this run continued an interrupted copy. */
  resumed: boolean;
  tables: TableCopy[];
}

const columnsOf = (columns: ReadonlyMap<string, readonly Column[]>, t: TableMapping): readonly Column[] => {
  const found = columns.get(t.table);
  if (!found) throw new Error(`the PostgreSQL schema has no table ${t.table}`);
  return found;
};

const keyOf = (t: TableMapping, columns: readonly Column[], row: Row): Row =>
  t.key.map((k) => row[columns.findIndex((c) => c.name === k)] ?? null);

/**
 * Copies every table of `source` into `target`, page by page, each page in a transaction with the
 * table's progress: an interrupted copy, run again, continues after the last page committed. A
 * target holding rows but no copy in progress is refused. Identity columns continue after the
 * source's, and the target rebuilds its own structures once every table is in.
 */
export async function copyStore(options: CopyOptions): Promise<CopyResult> {
  const { source, target } = options;
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  for (const t of TABLES)
    for (const k of t.key)
      if (!columnsOf(options.columns, t).some((c) => c.name === k))
        throw new Error(`${t.table} has no key column ${k}`);
  let progress = await target.progress();
  if (progress?.finished && progress.source === source.description)
    return { alreadyCopied: true, resumed: false, tables: [] };
  if (progress && progress.source !== source.description)
    throw new CopyRefusedError(
      `${target.description} holds a copy from ${progress.source || 'elsewhere'}, not from ${source.description}: copy into an empty schema or file`,
    );
  const resumed = progress !== undefined;
  if (!progress) {
    const filled = await target.firstNonEmpty();
    if (filled !== undefined)
      throw new CopyRefusedError(
        `${target.description} is not empty (${filled} has rows) and holds no interrupted copy: copy into an empty schema or file`,
      );
    await target.start(source.description);
    progress = { source: source.description, finished: false, tables: new Map() };
  }
  const tables: TableCopy[] = [];
  for (const t of TABLES) {
    const done = progress.tables.get(t.table);
    if (done?.done) {
      tables.push({ table: t.table, rows: done.rows, seconds: 0 });
      continue;
    }
    tables.push(await copyTable(options, t, done, pageSize));
  }
  for (const t of TABLES) if (t.identity) await target.setLastId(t, await source.lastId(t));
  await target.finish();
  return { alreadyCopied: false, resumed, tables };
}

async function copyTable(
  options: CopyOptions,
  t: TableMapping,
  before: TableProgress | undefined,
  pageSize: number,
): Promise<TableCopy> {
  const { source, target } = options;
  const columns = columnsOf(options.columns, t);
  const started = performance.now();
  const total = await source.count(t);
  // The last key's rows are read again: a table keyed by all its columns may hold that row twice.
  const from = before?.lastKey ?? undefined;
  let rows = before?.rows ?? 0;
  if (from) rows -= await target.deleteKey(t, from);
  const copiedBefore = rows;
  options.onEvent?.({ kind: 'table', table: t.table, total, copied: rows });
  let page = 0;
  let lastKey: Row | null = before?.lastKey ?? null;
  for await (const batch of source.read(t, columns, { from, pageSize })) {
    rows += batch.length;
    lastKey = keyOf(t, columns, batch[batch.length - 1]!);
    await target.writePage(t, columns, batch, { table: t.table, lastKey, rows, done: false });
    options.onEvent?.({ kind: 'page', table: t.table, copied: rows });
    options.afterPage?.(t.table, ++page);
  }
  await target.writePage(t, columns, [], { table: t.table, lastKey, rows, done: true });
  return { table: t.table, rows: rows - copiedBefore, seconds: (performance.now() - started) / 1000 };
}

/** One table's verification: its rows and checksum at both ends. */
export interface TableCheck {
  table: string;
  sourceRows: number;
  targetRows: number;
  sourceChecksum: string;
  targetChecksum: string;
  ok: boolean;
}

async function checksum(side: CopySide, t: TableMapping, columns: readonly Column[]): Promise<TableChecksum> {
  const sum = new TableChecksum();
  for await (const page of side.read(t, columns, { pageSize: 10_000 }))
    for (const row of page) sum.add(canonical(columns, row));
  return sum;
}

/**
 * Reads every table at both ends and compares row counts and an order-independent checksum of
 * the rows' canonical text (the same text whichever store a row comes from).
 */
export async function verifyCopy(options: {
  source: CopySide;
  target: CopySide;
  columns: ReadonlyMap<string, readonly Column[]>;
}): Promise<TableCheck[]> {
  const checks: TableCheck[] = [];
  for (const t of TABLES) {
    const columns = columnsOf(options.columns, t);
    const [a, b] = await Promise.all([
      checksum(options.source, t, columns),
      checksum(options.target, t, columns),
    ]);
    checks.push({
      table: t.table,
      sourceRows: a.rows,
      targetRows: b.rows,
      sourceChecksum: a.hex,
      targetChecksum: b.hex,
      ok: a.rows === b.rows && a.hex === b.hex,
    });
  }
  return checks;
}
