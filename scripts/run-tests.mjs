// Runs every *.test.ts under src/ and test/ with node's test runner (Node 20 does not expand
// globs itself). Pass paths or substrings to run a subset: `npm run test:unit -- identity`.
// test/reliability/ is left out: it is its own suite (`--reliability`, `npm run test:reliability`),
// heavier, run after the others in CI.
//
// Both stores: everything runs on SQLite, then the suites that open their store through the test
// helpers (harness, testStorage, runCli, startServe, demoServer) run again on PostgreSQL, each
// test in a fresh schema of the database at HANDOFF_TEST_DATABASE_URL. HANDOFF_TEST_STORE=sqlite
// or =postgres runs one store only. PostgreSQL unreachable: under CI=true the run fails at once;
// elsewhere it warns loudly and runs SQLite only.
//
// A file whose first line is `// @postgres-only` (several serve processes on one database) runs in
// the PostgreSQL pass only. Under CI=true it is never left out: HANDOFF_TEST_STORE=sqlite with such
// a file selected is an error, as is PostgreSQL being unreachable.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';

const RELIABILITY = join('test', 'reliability');
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
/** A test file whose store the helpers choose: it runs once per store. */
const STORE_DEPENDENT = /\bharness\(|helpers\/(store|cli|serve-process|demo-server)\.ts/;
/** A test file that runs on PostgreSQL only. */
const POSTGRES_ONLY = /^\/\/ @postgres-only\b/;

function collect(dir) {
  let out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out = out.concat(collect(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Whether PostgreSQL answers at `url`; the reason when it does not. */
async function reachable(url) {
  const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    await sql`SELECT 1`;
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

function redacted(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

const args = process.argv.slice(2);
const reliability = args.includes('--reliability');
const filters = args.filter((a) => a !== '--reliability');
const files = (reliability ? [RELIABILITY] : ['src', 'test'])
  .flatMap((d) => collect(d))
  .filter((f) => reliability || !f.startsWith(RELIABILITY + '/'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
const postgresOnly = files.filter((f) => POSTGRES_ONLY.test(readFileSync(f, 'utf8')));
const storeDependent = files.filter(
  (f) => postgresOnly.includes(f) || STORE_DEPENDENT.test(readFileSync(f, 'utf8')),
);
const sqliteFiles = files.filter((f) => !postgresOnly.includes(f));

const chosen = process.env.HANDOFF_TEST_STORE;
if (chosen !== undefined && chosen !== '' && chosen !== 'sqlite' && chosen !== 'postgres') {
  console.error(`HANDOFF_TEST_STORE=${chosen}: expected sqlite or postgres (unset: both)`);
  process.exit(2);
}
const ci = process.env.CI === 'true' || process.env.CI === '1';
const databaseUrl = process.env.HANDOFF_TEST_DATABASE_URL || DEFAULT_DATABASE_URL;

if (chosen === 'sqlite' && postgresOnly.length > 0) {
  const message = `HANDOFF_TEST_STORE=sqlite: ${postgresOnly.length} PostgreSQL-only test files are NOT run: ${postgresOnly.join(', ')}`;
  if (ci) {
    console.error(`${message}\nCI=true: unset HANDOFF_TEST_STORE so that they run on PostgreSQL.`);
    process.exit(1);
  }
  console.error(`!!! ${message}`);
}

/** The runs to make: [store, files]. */
const passes = [];
/** Said before the runs and again after them, where it is seen. */
let skippedPostgres;
if (chosen !== 'postgres' && sqliteFiles.length > 0) passes.push(['sqlite', sqliteFiles]);
if (chosen !== 'sqlite' && (chosen === 'postgres' || storeDependent.length > 0)) {
  const pg = await reachable(databaseUrl);
  if (pg.ok) {
    if (storeDependent.length > 0) passes.push(['postgres', storeDependent]);
    else {
      console.error('HANDOFF_TEST_STORE=postgres: none of the matched test files depends on the store');
      process.exit(1);
    }
  } else if (chosen === 'postgres' || ci) {
    console.error(
      `PostgreSQL is not reachable at ${redacted(databaseUrl)} (HANDOFF_TEST_DATABASE_URL): ${pg.reason}\n` +
        (ci
          ? 'CI=true: the store-dependent suites must run on PostgreSQL too; start it (.ci/run does) or point HANDOFF_TEST_DATABASE_URL at one.'
          : 'HANDOFF_TEST_STORE=postgres needs it.'),
    );
    process.exit(1);
  } else {
    const line = '!'.repeat(100);
    skippedPostgres =
      `${line}\n!!! PostgreSQL is not reachable at ${redacted(databaseUrl)}: ${pg.reason}\n` +
      `!!! RUNNING ON SQLITE ONLY: ${storeDependent.length} store-dependent test files are NOT run on PostgreSQL` +
      (postgresOnly.length > 0
        ? ` (${postgresOnly.length} of them PostgreSQL-only: not run at all).\n`
        : '.\n') +
      `!!! Start PostgreSQL or set HANDOFF_TEST_DATABASE_URL (CI=true makes this an error).\n${line}`;
    console.error(skippedPostgres);
  }
}

if (passes.length === 0) {
  console.error('none of the matched test files can run without PostgreSQL');
  process.exit(1);
}

// The reliability suite runs one file at a time: each drives a real serve hard, and its timing
// assertions need the machine's cores. A hung file is stopped by the per-test timeout.
const flags = reliability ? ['--test-concurrency=1', '--test-timeout=600000'] : ['--test-concurrency=2'];
const results = [];
for (const [store, run] of passes) {
  if (passes.length > 1) console.log(`\n# store: ${store} (${run.length} test files)\n`);
  const started = Date.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', ...flags, ...run], {
    stdio: 'inherit',
    env: { ...process.env, HANDOFF_TEST_STORE: store, HANDOFF_TEST_DATABASE_URL: databaseUrl },
  });
  results.push({ store, files: run.length, status: result.status ?? 1, s: (Date.now() - started) / 1000 });
}
if (results.length > 1 || results[0]?.store === 'postgres')
  for (const r of results)
    console.log(
      `# ${r.store}: ${r.files} test files, ${r.status === 0 ? 'passed' : 'FAILED'} in ${r.s.toFixed(0)} s`,
    );
if (skippedPostgres) console.error(skippedPostgres);
process.exit(results.every((r) => r.status === 0) ? 0 : 1);
