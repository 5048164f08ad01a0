// Which store the end-to-end tests run on: HANDOFF_TEST_STORE=sqlite (the default) or postgres.
// `npm test` runs the store-dependent suites once on each. On PostgreSQL every test storage is a
// fresh schema of its own in the database at HANDOFF_TEST_DATABASE_URL, dropped when it closes;
// configs name that variable, so the processes and commands a test starts reach the same schema.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import type { Store } from '../../src/store/ports.ts';
import { openStore } from '../../src/store/open.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../../src/store/postgres/testing.ts';

export type TestStoreKind = 'sqlite' | 'postgres';

/** The variable that picks the store. */
export const TEST_STORE_VARIABLE = 'HANDOFF_TEST_STORE';
/** The variable test configs read the PostgreSQL URL from. */
export const DATABASE_URL_VARIABLE = 'HANDOFF_TEST_DATABASE_URL';
/** Connections per test store: a run opens many stores at once and the server's limit is shared. */
const TEST_POOL_SIZE = 4;

/** The store this run tests: HANDOFF_TEST_STORE, `sqlite` when unset. */
export function testStoreKind(env: NodeJS.ProcessEnv = process.env): TestStoreKind {
  const kind = env[TEST_STORE_VARIABLE] || 'sqlite';
  if (kind !== 'sqlite' && kind !== 'postgres')
    throw new Error(`${TEST_STORE_VARIABLE}=${kind}: expected sqlite or postgres`);
  return kind;
}

/**
 * Where a test starts `handoff` as a process: on PostgreSQL its directory, so that what serve keeps
 * beside the database (see `TestStorage.sqlitePath`) stays in it; on SQLite, as before, inherited.
 */
export function processCwd(dir: string): { cwd?: string } {
  return testStoreKind() === 'postgres' ? { cwd: dir } : {};
}

/**
 * The variables a config written by `testStorage` needs: the database URL on PostgreSQL, none on
 * SQLite. Merge them into the environment of every process or command a test starts.
 */
export function storeEnv(): Record<string, string> {
  return testStoreKind() === 'postgres' ? { [DATABASE_URL_VARIABLE]: testDatabaseUrl() } : {};
}

/** One test's database: a SQLite file in its directory, or a fresh PostgreSQL schema. */
export interface TestStorage {
  kind: TestStoreKind;
  /**
   * The SQLite file. On PostgreSQL, the file a process started in the test's directory takes for
   * it (`./data/handoff.db`, the default): `secrets.json` and the serve mark go beside it.
   */
  sqlitePath: string;
  /** The PostgreSQL schema; undefined on SQLite. */
  schema: string | undefined;
  /** The `storage` section, for a config built as an object. */
  section: Record<string, unknown>;
  /** The `storage` section as one YAML line, for a config written as text. */
  yaml: string;
  /** Opens the store itself, as a command would (close it after use). */
  open(): Promise<Store>;
  /** Drops the PostgreSQL schema (the SQLite file goes with its directory). */
  drop(): Promise<void>;
}

/** A database for one test, in `dir` on SQLite (`file` names it) or a fresh schema on PostgreSQL. */
export function testStorage(dir: string, file = 'handoff.db'): TestStorage {
  if (testStoreKind() === 'sqlite') {
    const sqlitePath = join(dir, file);
    const section = { sqlite: { path: sqlitePath } };
    return {
      kind: 'sqlite',
      sqlitePath,
      schema: undefined,
      section,
      yaml: `storage: ${JSON.stringify(section)}`,
      open: () => openStore({ sqlitePath }),
      drop: () => Promise.resolve(),
    };
  }
  const sqlitePath = join(dir, 'data', 'handoff.db');
  const schema = freshSchemaName();
  const section = {
    postgres: { url: { env: DATABASE_URL_VARIABLE }, schema, poolSize: TEST_POOL_SIZE },
  };
  return {
    kind: 'postgres',
    sqlitePath,
    schema,
    section,
    yaml: `storage: ${JSON.stringify(section)}`,
    open: () =>
      openStore({ sqlitePath, postgres: { url: testDatabaseUrl(), schema, poolSize: TEST_POOL_SIZE } }),
    drop: () => dropSchema(schema),
  };
}

/**
 * Direct SQL on a test's database, for tests that corrupt, repair or inspect rows the store's
 * ports never would. The same text runs on both stores: `?` placeholders, the tables' own names.
 */
export interface RawSql {
  exec(text: string, ...params: unknown[]): Promise<void>;
  query<T>(text: string, ...params: unknown[]): Promise<T[]>;
  /**
   * Takes the database's write lock from another connection and gives it back after `ms`:
   * SQLite's `BEGIN IMMEDIATE` in a process of its own (a SQLite writer waiting for the lock blocks
   * its whole thread, so the holder must be elsewhere, as another `handoff` command would be),
   * PostgreSQL's exclusive lock on the tables a commit writes. Resolves once the lock is held;
   * `released` resolves after it is given back, to the rows `lastly` read just before that.
   */
  holdWriteLock<T>(ms: number, lastly: string): Promise<{ released: Promise<T[]> }>;
  close(): Promise<void>;
}

/** The tables every processor commit writes, locked in one order. */
const COMMIT_TABLES = ['cursors', 'profiles', 'identifiers', 'profile_events', 'profile_state'];

/** Direct SQL on the storage of a harness (or a `TestStorage` itself). */
export function rawSql(target: TestStorage | { storage: TestStorage }): RawSql {
  const storage = 'storage' in target ? target.storage : target;
  return storage.kind === 'sqlite' ? sqliteRaw(storage.sqlitePath) : postgresRaw(storage.schema!);
}

/**
 * The values serve generated and kept for unset secrets, by variable: `secrets.json` beside the
 * SQLite file; the schema's `generated_secrets` table on PostgreSQL. Empty when none were kept.
 */
export async function keptSecrets(storage: TestStorage): Promise<Record<string, string>> {
  if (storage.kind === 'sqlite') {
    const file = join(dirname(storage.sqlitePath), 'secrets.json');
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  }
  const raw = rawSql(storage);
  try {
    const rows = await raw.query<{ name: string; value: string }>(
      'SELECT name, value FROM generated_secrets',
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  } finally {
    await raw.close();
  }
}

function sqliteRaw(path: string): RawSql {
  const db = new Database(path);
  db.pragma('busy_timeout = 5000');
  return {
    exec: (text, ...params) => {
      db.prepare(text).run(...params);
      return Promise.resolve();
    },
    query: <T>(text: string, ...params: unknown[]) => Promise.resolve(db.prepare(text).all(...params) as T[]),
    holdWriteLock: <T>(ms: number, lastly: string) => sqliteLockHolder<T>(path, ms, lastly),
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

/** What the lock holder runs: it says `held`, waits, reads `lastly`, gives the lock back, prints the rows. */
const HOLDER = `
const [Database, path, ms, lastly] = [require(process.argv[1]), ...process.argv.slice(2)];
const db = new Database(path);
db.pragma('busy_timeout = 5000');
db.exec('BEGIN IMMEDIATE');
process.stdout.write('held\\n');
setTimeout(() => {
  const rows = db.prepare(lastly).all();
  db.exec('ROLLBACK');
  db.close();
  process.stdout.write(JSON.stringify(rows));
}, Number(ms));
`;

function sqliteLockHolder<T>(path: string, ms: number, lastly: string): Promise<{ released: Promise<T[]> }> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const child = spawn(process.execPath, ['-e', HOLDER, driver, path, String(ms), lastly], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (!out.startsWith('held\n')) return;
      child.stdout.off('data', onData);
      const released = exited.then((code) => {
        if (code !== 0) throw new Error(`the lock holder failed (exit ${code}): ${err}`);
        return JSON.parse(out.slice('held\n'.length)) as T[];
      });
      resolve({ released });
    };
    child.stdout.on('data', onData);
    void exited.then((code) => reject(new Error(`the lock holder exited (${code}) before holding: ${err}`)));
  });
}

/** `?` placeholders as PostgreSQL's `$1, $2, …` (test SQL holds no `?` inside strings). */
const numbered = (text: string): string => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};

function postgresRaw(schema: string): RawSql {
  const sql = postgres(testDatabaseUrl(), {
    max: 2,
    connection: { search_path: schema },
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (n: number) => String(n), parse: (t: string) => Number(t) },
    },
  });
  const run = (text: string, params: unknown[]) =>
    sql.unsafe(numbered(text), params as postgres.ParameterOrJSON<never>[]);
  return {
    exec: async (text, ...params) => {
      await run(text, params);
    },
    query: async <T>(text: string, ...params: unknown[]) => [...(await run(text, params))] as T[],
    holdWriteLock: async <T>(ms: number, lastly: string) => {
      const connection = await sql.reserve();
      await connection.unsafe('BEGIN');
      await connection.unsafe(`LOCK TABLE ${COMMIT_TABLES.join(', ')} IN EXCLUSIVE MODE`);
      const released = new Promise<T[]>((resolve, reject) =>
        setTimeout(() => {
          void (async () => {
            const rows = [...(await connection.unsafe(lastly))] as T[];
            await connection.unsafe('ROLLBACK');
            connection.release();
            return rows;
          })().then(resolve, reject);
        }, ms),
      );
      return { released };
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
