/**
 * `npm run bench:store-copy [-- --events 1000000 --profiles 100000 --seed 1 --db file --page-size 5000 --write copy,unnest]`
 *
 * `handoff store copy` over the engine benchmark's database (N generated events, processed by the
 * 13 reference audiences; built once at --db, default in the temp directory, and reused):
 *
 * 1. Baseline, same run: the raw rates of the two ends. SQLite: reading the first 200,000 events
 *    rows (the table the copy reads most). PostgreSQL: the same rows, already in memory, written to an
 *    empty copy of the events table with COPY, one transaction a page, nothing else.
 * 2. SQLite → PostgreSQL into a fresh schema, per write method: time and rows/s per table and in
 *    total, then the verification (rows and checksum of every table at both ends), timed.
 * 3. PostgreSQL → a new SQLite file, the same way.
 *
 * Schemas are created with a random suffix and dropped at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { copyStore, verifyCopy } from '../src/store/copy/copy.ts';
import type { CopyResult } from '../src/store/copy/copy.ts';
import { openCopy } from '../src/store/copy/open.ts';
import type { PostgresWrite } from '../src/store/copy/postgres-side.ts';
import { copyText } from '../src/store/copy/values.ts';
import type { Row } from '../src/store/copy/values.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from '../src/store/postgres/testing.ts';
import { openPostgres } from '../src/store/postgres/database.ts';
import { STORE_OPTION, benchArgs, count, fmt, storeKind } from './lib.ts';
import { engineDatabase } from './store-copy/build.ts';

const { values } = parseArgs({
  args: benchArgs(),
  options: {
    events: { type: 'string', default: '1000000' },
    profiles: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
    db: { type: 'string' },
    'page-size': { type: 'string', default: '5000' },
    write: { type: 'string', default: 'copy,unnest' },
    store: { ...STORE_OPTION.store, default: 'postgres' },
  },
});
// The copy goes from a SQLite file into PostgreSQL: `--store postgres` (the default here) is its only store.
if (storeKind(values.store) !== 'postgres')
  throw new Error(
    'bench:store-copy copies a SQLite database into PostgreSQL: --store postgres is its only store',
  );
const events = count('events', values.events);
const profiles = count('profiles', values.profiles);
const pageSize = count('page-size', values['page-size']);
const writes = values.write.split(',') as PostgresWrite[];
const dbPath = values.db ?? join(tmpdir(), `handoff-store-copy-${events}-${profiles}-${values.seed}.db`);
const url = testDatabaseUrl();
const schemas: string[] = [];
/** The baseline holds its rows in memory: the first 200,000 events are enough for a rate. */
const BASELINE_ROWS = 200_000;
const seconds = (since: number): number => (performance.now() - since) / 1000;

function printCopy(label: string, result: CopyResult, total: number): void {
  console.log(`\n${label}\n\n| table | rows | s | rows/s |\n|---|---:|---:|---:|`);
  for (const t of result.tables)
    if (t.rows > 0)
      console.log(`| ${t.table} | ${fmt(t.rows)} | ${fmt(t.seconds, 2)} | ${fmt(t.rows / t.seconds)} |`);
  const rows = result.tables.reduce((n, t) => n + t.rows, 0);
  console.log(`| **total** | ${fmt(rows)} | ${fmt(total, 2)} | ${fmt(rows / total)} |`);
}

/** The raw rates of the two ends, on the events table. */
async function baseline(): Promise<void> {
  const db = new Database(dbPath, { readonly: true });
  const read = performance.now();
  const rows = db.prepare('SELECT * FROM events ORDER BY seq LIMIT ?').raw(true).all(BASELINE_ROWS) as Row[];
  const readSeconds = seconds(read);
  db.close();
  const schema = freshSchemaName();
  schemas.push(schema);
  const sql = await openPostgres({ url, schema, poolSize: 1 });
  try {
    await sql`CREATE TABLE raw_events (LIKE events INCLUDING ALL)`;
    const written = performance.now();
    for (let i = 0; i < rows.length; i += pageSize) {
      const text = copyText(rows.slice(i, i + pageSize));
      await sql.begin(async (tx) => {
        const stream = await tx`COPY raw_events FROM STDIN`.writable();
        await new Promise<void>((resolve, reject) => {
          stream.on('error', reject);
          stream.on('finish', resolve);
          stream.end(text);
        });
      });
    }
    const writeSeconds = seconds(written);
    console.log(
      `baseline, events (${fmt(rows.length)} rows): SQLite read ${fmt(rows.length / readSeconds)} rows/s; PostgreSQL COPY from memory, ${fmt(pageSize)} a transaction, ${fmt(rows.length / writeSeconds)} rows/s (${fmt(writeSeconds, 2)} s)`,
    );
  } finally {
    await sql.end();
  }
}

async function main(): Promise<void> {
  console.log(
    `handoff store copy benchmark: ${fmt(events)} events, ${fmt(profiles)} profiles (seed ${values.seed}), pages of ${fmt(pageSize)}; node ${process.version}, ${cpus().length} CPUs`,
  );
  await engineDatabase({ path: dbPath, events, profiles, seed: values.seed });
  await baseline();
  let last = '';
  for (const write of writes) {
    const schema = freshSchemaName();
    schemas.push(schema);
    const ends = await openCopy({ to: 'postgres', sqlitePath: dbPath, postgres: { url, schema }, write });
    try {
      const started = performance.now();
      const result = await copyStore({ ...ends, pageSize });
      printCopy(`SQLite → PostgreSQL (--write ${write})`, result, seconds(started));
      const verified = performance.now();
      const checks = await verifyCopy(ends);
      const rows = checks.reduce((n, c) => n + c.sourceRows, 0);
      console.log(
        `verification: ${
          checks.every((c) => c.ok)
            ? 'every table matches'
            : `MISMATCH in ${checks
                .filter((c) => !c.ok)
                .map((c) => c.table)
                .join(', ')}`
        }; ${fmt(rows)} rows read at each end in ${fmt(seconds(verified), 2)} s`,
      );
      if (!checks.every((c) => c.ok)) process.exitCode = 1;
    } finally {
      await ends.close();
    }
    last = schema;
  }
  const dir = mkdtempSync(join(tmpdir(), 'handoff-store-copy-back-'));
  try {
    const ends = await openCopy({
      to: 'sqlite',
      sqlitePath: join(dir, 'back.db'),
      postgres: { url, schema: last },
    });
    try {
      const started = performance.now();
      const result = await copyStore({ ...ends, pageSize });
      printCopy('PostgreSQL → a new SQLite file (--to sqlite)', result, seconds(started));
    } finally {
      await ends.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

try {
  await main();
} finally {
  for (const s of schemas) await dropSchema(s, url);
}
