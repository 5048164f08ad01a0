// `handoff serve` as a real process at its edges: a failure to start is one clear line on stderr
// and exit code 2, never a stack trace or a spin; a start says when the admin token would cross
// the network in the clear, and leaves its data readable by its own user only. Runs on both
// stores: the generated admin token is kept by each (on PostgreSQL, in the schema).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { testDatabaseUrl } from '../../src/store/postgres/testing.ts';
import type { Served } from '../helpers/serve-process.ts';
import { startServe, stopAll, stopServe } from '../helpers/serve-process.ts';
import { keptSecrets, testStorage, testStoreKind } from '../helpers/store.ts';

const bin = fileURLToPath(new URL('../../bin/handoff.mjs', import.meta.url));
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'handoff-startup-'));
  // Readable by the unprivileged user the read-only-directory case runs as.
  chmodSync(dir, 0o755);
});
after(() => rmSync(dir, { recursive: true, force: true }));

function configAt(name: string, sqlitePath: string): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `storage: { sqlite: { path: ${JSON.stringify(sqlitePath)} } }\nsources:\n  - { id: web, writeKey: { env: STARTUP_KEY } }\n`,
    { mode: 0o644 },
  );
  return file;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `handoff <args>` to its exit (killed after 30 s: a startup that spins fails the test). */
function run(args: string[], options: { asUser?: number; env?: Record<string, string> } = {}): Promise<Run> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...process.env, STARTUP_KEY: 'startup-key-123', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.asUser !== undefined ? { uid: options.asUser, gid: options.asUser } : {}),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    }),
  );
}

/** Exit 2 with exactly one line on stderr matching `pattern`, and no stack trace anywhere. */
function assertOneLine(result: Run, pattern: RegExp): void {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(result.code, 2, `exit code; stderr:\n${result.stderr}\nstdout:\n${result.stdout}`);
  assert.equal(lines.length, 1, `one line on stderr, got:\n${result.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(result.stderr + result.stdout, /^\s+at /m, 'no stack trace');
}

describe('handoff serve: startup failures are one line and exit 2', () => {
  let taken: Server;
  let takenPort: number;
  before(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    takenPort = (taken.address() as { port: number }).port;
  });
  after(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  test('the port is taken', async () => {
    const config = configAt('taken', join(dir, 'taken', 'h.db'));
    const result = await run(['serve', '-c', config, '--host', '127.0.0.1', '--port', String(takenPort)]);
    assertOneLine(
      result,
      new RegExp(
        `^handoff serve: cannot listen on 127\\.0\\.0\\.1:${takenPort}: the port is already in use; .*--port`,
      ),
    );
  });

  for (const port of ['abc', '70000', '-1', '8080x']) {
    test(`--port ${port}`, async () => {
      const config = configAt('port', join(dir, 'port', 'h.db'));
      const result = await run(['serve', '-c', config, '--port', port]);
      assertOneLine(result, /^handoff serve: --port must be a whole number from 0 to 65535/);
      assert.ok(result.stderr.includes(`"${port}"`), result.stderr);
    });
  }

  for (const roles of ['worker', 'ingest,jobs', '']) {
    test(`--roles ${JSON.stringify(roles)}`, async () => {
      const config = configAt('roles', join(dir, 'roles', 'h.db'));
      const result = await run(['serve', '-c', config, '--port', '0', '--roles', roles]);
      assertOneLine(result, /^handoff serve: --roles must be ingest, jobs or all /);
      assert.ok(result.stderr.includes(`"${roles}"`), result.stderr);
    });
  }

  test('--roles ingest with --apply', async () => {
    const config = configAt('roles-apply', join(dir, 'roles-apply', 'h.db'));
    const result = await run(['serve', '-c', config, '--port', '0', '--roles', 'ingest', '--apply']);
    assertOneLine(
      result,
      /^handoff serve: --apply rebuilds audience state, which --roles ingest does not do/,
    );
  });

  test('a storage path under a regular file', async () => {
    writeFileSync(join(dir, 'plain-file'), 'not a directory');
    const config = configAt('under-file', join(dir, 'plain-file', 'data', 'h.db'));
    const result = await run(['serve', '-c', config, '--port', '0']);
    assertOneLine(
      result,
      /cannot use the database at .*: .*plain-file is not a directory \(a file is in the way\)/,
    );
  });

  test('a PostgreSQL store that refuses connections: the reason, without the URL or its password', async () => {
    const file = join(dir, 'pg-down.yaml');
    writeFileSync(
      file,
      'storage:\n  postgres:\n    url: { env: STARTUP_KEY }\nsources:\n  - { id: web, writeKey: { env: STARTUP_KEY } }\n',
    );
    const result = await run(['serve', '-c', file, '--port', '0'], {
      env: { STARTUP_KEY: 'postgres://handoff:s3cret-pw@127.0.0.1:1/handoff' },
    });
    assertOneLine(
      result,
      /^handoff serve: cannot use the PostgreSQL store \(STARTUP_KEY, schema handoff\): the server refused the connection/,
    );
    assert.doesNotMatch(result.stderr, /s3cret-pw/);
  });

  test('a PostgreSQL store whose URL variable is unset', async () => {
    const file = join(dir, 'pg-unset.yaml');
    writeFileSync(file, 'storage:\n  postgres:\n    url: { env: HANDOFF_UNSET_DATABASE_URL }\n');
    const result = await run(['serve', '-c', file, '--port', '0']);
    assertOneLine(result, /HANDOFF_UNSET_DATABASE_URL is not set/);
  });

  test('a storage path in a read-only directory', async () => {
    const readOnly = join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    chmodSync(readOnly, 0o555);
    const config = configAt('read-only', join(readOnly, 'h.db'));
    // Root may write anywhere: the case runs as an unprivileged user then.
    const asUser = process.getuid?.() === 0 ? 65534 : undefined;
    const result = await run(['serve', '-c', config, '--port', '0'], asUser === undefined ? {} : { asUser });
    assertOneLine(
      result,
      /^handoff serve: cannot use the database at .*read-only\/h\.db: permission denied on /,
    );
    assert.ok(!existsSync(join(readOnly, 'h.db')));
  });

  test('a storage path under /proc fails at once instead of spinning', async (t) => {
    if (!existsSync('/proc/self')) {
      t.skip('no /proc on this system');
      return;
    }
    const config = configAt('proc', '/proc/handoff-data/h.db');
    const result = await run(['serve', '-c', config, '--port', '0']);
    assertOneLine(
      result,
      /^handoff serve: cannot use the database at \/proc\/handoff-data\/h\.db: .*cannot be created there/,
    );
    assert.ok(result.ms < 20_000, `took ${result.ms.toFixed(0)} ms`);
  });

  test('an empty config file is an error for validate and serve', async () => {
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '# to do\n');
    for (const command of ['validate', 'serve']) {
      const result = await run([command, '-c', empty]);
      assertOneLine(result, /empty\.yaml: the config file is empty; add at least a source/);
      assert.doesNotMatch(result.stdout, /valid/);
    }
  });
});

describe('handoff serve: a start', () => {
  /** Starts serve, waits for it to listen, stops it with SIGTERM; the log and what it left. */
  async function startAndStop(name: string, hostArgs: string[]): Promise<{ log: string; data: string }> {
    const data = join(dir, name);
    const config = configAt(name, join(data, 'h.db'));
    const child = spawn(process.execPath, [bin, 'serve', '-c', config, '--port', '0', ...hostArgs], {
      cwd: dir,
      env: { ...process.env, STARTUP_KEY: 'startup-key-123' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 20_000);
      child.stdout.on('data', () => {
        if (log.includes('handoff is serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // The warning follows the serving line within the same tick of output.
    await new Promise((resolve) => setTimeout(resolve, 200));
    child.kill('SIGTERM');
    assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0, log);
    return { log, data };
  }

  test('on every interface: one warning naming the fix; data 0700, files 0600', async () => {
    const { log, data } = await startAndStop('exposed', []);
    const warnings = log.split('\n').filter((l) => l.includes('plain HTTP'));
    assert.equal(warnings.length, 1, log);
    assert.match(warnings[0]!, /"level":40/);
    assert.match(
      warnings[0]!,
      /every interface \(0\.0\.0\.0\).*set server\.host: 127\.0\.0\.1.*or terminate TLS in front/,
    );
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    assert.equal(mode(data), '700');
    assert.equal(mode(join(data, 'h.db')), '600');
    assert.equal(mode(join(data, 'secrets.json')), '600', 'the generated admin token');
  });

  test('on 127.0.0.1: no warning; a secrets.json left readable by others is tightened', async () => {
    const secrets = join(dir, 'local', 'secrets.json');
    mkdirSync(join(dir, 'local'));
    writeFileSync(secrets, JSON.stringify({ HANDOFF_ADMIN_TOKEN: 'an-older-admin-token' }), { mode: 0o644 });
    chmodSync(secrets, 0o644);
    const { log } = await startAndStop('local', ['--host', '127.0.0.1']);
    assert.match(log, /handoff is serving/);
    assert.doesNotMatch(log, /plain HTTP/);
    assert.doesNotMatch(log, /generated values/, 'nothing was generated, so nothing was rewritten');
    assert.equal((statSync(secrets).mode & 0o777).toString(8), '600');
  });
});

describe('handoff serve: a generated admin token on the test store', () => {
  const adminStatus = async (served: Served, token: string): Promise<number> =>
    (await fetch(`${served.address}/api/admin/cluster`, { headers: { authorization: `Bearer ${token}` } }))
      .status;

  test('is kept: a restart, and on PostgreSQL a serve started elsewhere, accept the same token', async () => {
    const home = join(dir, 'kept-token');
    mkdirSync(home);
    const storage = testStorage(home);
    try {
      const config = join(home, 'handoff.yaml');
      writeFileSync(config, `${storage.yaml}\nsources:\n  - { id: web, writeKey: { env: STARTUP_KEY } }\n`);
      const env = { STARTUP_KEY: 'startup-key-123' };
      const first = await startServe(config, env);
      const token = (await keptSecrets(storage)).HANDOFF_ADMIN_TOKEN;
      assert.ok(token && token.length >= 20, first.output());
      assert.match(first.output(), /HANDOFF_ADMIN_TOKEN not set: using generated values/);
      if (storage.kind === 'postgres')
        assert.match(first.output(), /kept in the database \(table .*generated_secrets\)/);
      assert.equal(await adminStatus(first, token), 200);
      assert.equal(await adminStatus(first, 'not-the-token'), 401);
      assert.equal((await stopServe(first)).code, 0);

      const again = await startServe(config, env);
      assert.equal(await adminStatus(again, token), 200, 'the restart kept the token');
      assert.doesNotMatch(again.output(), /generated values/, 'nothing new was generated');
      assert.equal((await stopServe(again)).code, 0);
      if (storage.kind === 'postgres') {
        // Another machine's serve on the same schema: no files of the first one's directory.
        const elsewhere = join(dir, 'kept-token-elsewhere');
        mkdirSync(elsewhere);
        const other = join(elsewhere, 'handoff.yaml');
        writeFileSync(other, readFileSync(config));
        const served = await startServe(other, env);
        assert.equal(await adminStatus(served, token), 200, 'every serve on the schema uses the kept token');
        assert.equal((await stopServe(served)).code, 0);
        assert.ok(
          !existsSync(join(home, 'data', 'secrets.json')),
          'nothing is kept beside an unused SQLite path',
        );
      }
    } finally {
      await stopAll();
      await storage.drop();
    }
  });

  if (testStoreKind() === 'postgres')
    test('a PostgreSQL role without CREATE on the database: one line naming the privilege, exit 2', async () => {
      const admin = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(
          `DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'handoff_test_no_create') THEN
             CREATE ROLE handoff_test_no_create LOGIN; END IF; END$$`,
        );
      } finally {
        await admin.end();
      }
      const url = new URL(testDatabaseUrl());
      url.username = 'handoff_test_no_create';
      url.password = '';
      const file = join(dir, 'pg-no-create.yaml');
      writeFileSync(
        file,
        'storage:\n  postgres:\n    url: { env: NO_CREATE_URL }\n    schema: handoff_no_create\nsources:\n  - { id: web, writeKey: { env: STARTUP_KEY } }\n',
      );
      const result = await run(['serve', '-c', file, '--port', '0'], {
        env: { NO_CREATE_URL: url.toString() },
      });
      assertOneLine(
        result,
        /^handoff serve: cannot use the PostgreSQL store \(NO_CREATE_URL, schema handoff_no_create\): permission denied for database .*the user needs CREATE on the database, or the schema created for it/,
      );
    });
});
