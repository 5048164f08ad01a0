import { MultiBar, Presets } from 'cli-progress';
import { runningServe } from '../app/serve-mark.ts';
import { DEFAULT_SCHEMA, SCHEMA_NAME } from '../store/postgres/database.ts';
import type { CopyEvent, CopyResult, TableCheck } from '../store/copy/copy.ts';
import { CopyRefusedError, DEFAULT_PAGE_SIZE, copyStore, verifyCopy } from '../store/copy/copy.ts';
import type { CopyEnds } from '../store/copy/open.ts';
import { openCopy } from '../store/copy/open.ts';
import type { PostgresWrite } from '../store/copy/postgres-side.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';
import { postgresReason } from './serve-startup.ts';

export interface StoreCopyOptions {
  config?: string;
  to?: string;
  sqlitePath?: string;
  postgresUrlEnv?: string;
  schema?: string;
  pageSize?: string;
  write?: string;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The progress of a copy: a bar per table on a terminal, a line per table otherwise. */
function progressReporter(io: Io): { onEvent: (e: CopyEvent) => void; stop: () => void } {
  if (!io.isTTY) {
    return {
      onEvent: (e) => {
        if (e.kind === 'table')
          io.out(`${e.table}: ${fmt(e.total)} rows${e.copied > 0 ? `, ${fmt(e.copied)} copied before` : ''}`);
      },
      stop: () => {},
    };
  }
  const bars = new MultiBar(
    { format: '{table} [{bar}] {percentage}% | {value}/{total} rows', hideCursor: true },
    Presets.shades_classic,
  );
  let bar: ReturnType<MultiBar['create']> | undefined;
  return {
    onEvent: (e) => {
      if (e.kind === 'table')
        bar = bars.create(Math.max(e.total, e.copied), e.copied, { table: e.table.padEnd(19) });
      else bar?.update(e.copied);
    },
    stop: () => bars.stop(),
  };
}

function printChecks(checks: readonly TableCheck[], io: Io): void {
  io.out('| table | rows (source) | rows (copy) | checksum (source) | checksum (copy) | |');
  io.out('|---|---:|---:|---|---|---|');
  for (const c of checks)
    io.out(
      `| ${c.table} | ${fmt(c.sourceRows)} | ${fmt(c.targetRows)} | ${c.sourceChecksum} | ${c.targetChecksum} | ${c.ok ? 'ok' : 'MISMATCH'} |`,
    );
}

function printCopy(result: CopyResult, seconds: number, io: Io): void {
  const rows = result.tables.reduce((n, t) => n + t.rows, 0);
  io.out(
    `copied ${fmt(rows)} rows in ${seconds.toFixed(1)} s (${fmt(rows / Math.max(seconds, 1e-3))} rows/s)${result.resumed ? ', resuming an interrupted copy' : ''}`,
  );
}

/** Which store to copy from and to, from the options and the config; or what is wrong. */
function locate(options: StoreCopyOptions, io: Io): Parameters<typeof openCopy>[0] | string {
  if (options.to !== 'postgres' && options.to !== 'sqlite')
    return `--to ${options.to ?? ''}: give postgres or sqlite`;
  const config = loadConfigOrReport(options.config, io);
  if (!config) return '';
  const configured = config.storage.postgres;
  const env = options.postgresUrlEnv ?? configured?.url.env;
  if (env === undefined)
    return 'no PostgreSQL database: set storage.postgres in the config, or give --postgres-url-env NAME';
  const url = options.postgresUrlEnv ? io.env[options.postgresUrlEnv] : configured?.url.value;
  if (!url) return `${env} is not set: it should hold the PostgreSQL URL (postgres://user:pass@host:5432/db)`;
  const schema = options.schema ?? configured?.schema ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema))
    return `--schema ${schema}: a plain schema name (lower-case letters, digits and _)`;
  const write = (options.write ?? 'copy') as PostgresWrite;
  if (write !== 'copy' && write !== 'unnest') return `--write ${options.write}: give copy or unnest`;
  const sqlitePath = options.sqlitePath ?? config.storage.sqlitePath;
  const serving = runningServe(sqlitePath) ?? runningServe(config.storage.sqlitePath);
  if (serving)
    return `a serve (pid ${serving.pid}) is running on this store: stop it first, so the copy sees the store as it stopped`;
  return { to: options.to, sqlitePath, postgres: { url, schema, poolSize: 4 }, write };
}

/**
 * `handoff store copy --to postgres|sqlite`: moves every table between the SQLite file and a
 * PostgreSQL schema, resumable, then verifies each table's rows and checksum at both ends.
 * Exit 0 when every table matches, 1 on a mismatch, 2 when the copy cannot start.
 */
export async function storeCopy(options: StoreCopyOptions, io: Io): Promise<number> {
  const pageSize = options.pageSize === undefined ? DEFAULT_PAGE_SIZE : Number(options.pageSize);
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    io.err(`--page-size ${options.pageSize}: a whole number of rows, at least 1`);
    return 2;
  }
  const where = locate(options, io);
  if (typeof where === 'string') {
    if (where) io.err(where);
    return 2;
  }
  let ends: CopyEnds;
  try {
    ends = await openCopy(where);
  } catch (error) {
    if (error instanceof CopyRefusedError) io.err(error.message);
    else io.err(`handoff store copy: cannot open the stores: ${postgresReason(error)}`);
    return 2;
  }
  try {
    io.out(`copying ${ends.source.description} into ${ends.target.description}`);
    const progress = progressReporter(io);
    const started = performance.now();
    let result: CopyResult;
    try {
      result = await copyStore({ ...ends, pageSize, onEvent: progress.onEvent });
    } finally {
      progress.stop();
    }
    if (result.alreadyCopied) io.out('the copy was finished already; verifying it');
    else printCopy(result, (performance.now() - started) / 1000, io);
    const checks = await verifyCopy(ends);
    printChecks(checks, io);
    const bad = checks.filter((c) => !c.ok);
    if (bad.length > 0) {
      io.err(`${bad.length} table(s) differ: ${bad.map((c) => c.table).join(', ')}`);
      return 1;
    }
    io.out(`verified: every table has the same rows in ${ends.target.description}`);
    return 0;
  } catch (error) {
    if (error instanceof CopyRefusedError) {
      io.err(error.message);
      return 2;
    }
    throw error;
  } finally {
    await ends.close();
  }
}
