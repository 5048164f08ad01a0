import { createHash } from 'node:crypto';

/** A value as either driver reads it: SQLite flags are 0/1, PostgreSQL's are booleans. */
export type Value = string | number | boolean | null;
export type Row = Value[];

/** A column of a copied table, with its PostgreSQL type (`information_schema.columns.data_type`). */
export interface Column {
  name: string;
  type: string;
}

const isFlag = (column: Column): boolean => column.type === 'boolean';

/** A row as PostgreSQL takes it: flags as booleans. */
export function forPostgres(columns: readonly Column[], row: Row): Row {
  return row.map((v, i) => (v !== null && isFlag(columns[i]!) ? v === true || v === 1 : v));
}

/** A row as SQLite takes it: flags as 0/1. */
export function forSqlite(columns: readonly Column[], row: Row): Row {
  return row.map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
}

/** One column of rows as a PostgreSQL array literal, for `unnest($1::text::bigint[], …)`. */
export function arrayLiteral(values: readonly Value[]): string {
  const parts = values.map((v) =>
    v === null ? 'NULL' : `"${String(v).replace(/[\\"]/g, (m) => `\\${m}`)}"`,
  );
  return `{${parts.join(',')}}`;
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Rows in COPY's text format: tab-separated, `\N` for null, one line each. */
export function copyText(rows: readonly Row[]): string {
  let text = '';
  for (const row of rows) {
    text += row
      .map((v) =>
        v === null
          ? '\\N'
          : typeof v === 'string'
            ? v.replace(/[\\\n\r\t]/g, (m) => COPY_ESCAPES[m]!)
            : typeof v === 'boolean'
              ? v
                ? 't'
                : 'f'
              : String(v),
      )
      .join('\t');
    text += '\n';
  }
  return text;
}

/**
 * A row's text, the same whichever store it was read from: flags as 0/1, numbers as JavaScript
 * prints them (both drivers read PostgreSQL's shortest exact float text and SQLite's doubles to
 * the same number), null apart from every string.
 */
export function canonical(columns: readonly Column[], row: Row): string {
  return row
    .map((v, i) => {
      if (v === null) return '\u0000';
      if (isFlag(columns[i]!)) return v === true || v === 1 ? '1' : '0';
      return typeof v === 'string' ? `s${v}` : `n${String(v)}`;
    })
    .join('\u0001');
}

/**
 * An order-independent checksum of a table: the sums, each modulo 2^32, of the two
 * halves of the first 64 bits of each row's MD5. The same rows give the same sum whatever order they are read in.
 */
export class TableChecksum {
  private high = 0;
  private low = 0;
  rows = 0;

  add(text: string): void {
    const digest = createHash('md5').update(text).digest();
    this.high = (this.high + digest.readUInt32BE(0)) >>> 0;
    this.low = (this.low + digest.readUInt32BE(4)) >>> 0;
    this.rows++;
  }

  get hex(): string {
    return this.high.toString(16).padStart(8, '0') + this.low.toString(16).padStart(8, '0');
  }
}
