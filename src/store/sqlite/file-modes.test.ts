import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makePrivateDir } from '../../shared/private-files.ts';
import { openSqlite } from './database.ts';

const root = mkdtempSync(join(tmpdir(), 'handoff-modes-'));
after(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

test('a new database: its directories 0700, the db and its -wal and -shm 0600', () => {
  const path = join(root, 'fresh', 'data', 'handoff.db');
  const db = openSqlite(path);
  try {
    db.exec("CREATE TABLE t (x); INSERT INTO t VALUES ('profile')");
    assert.equal(mode(join(root, 'fresh')), '700');
    assert.equal(mode(join(root, 'fresh', 'data')), '700');
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      assert.ok(existsSync(file), `${file} exists while the database is open`);
      assert.equal(mode(file), '600', file);
    }
  } finally {
    db.close();
  }
});

test('an existing database readable by others is tightened to 0600 at open', () => {
  const dir = join(root, 'old');
  makePrivateDir(dir);
  const path = join(dir, 'handoff.db');
  // An older Handoff left the files 0644, and another connection keeps the -wal and -shm open.
  const other = new Database(path);
  other.pragma('journal_mode = WAL');
  other.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
  for (const file of [path, `${path}-wal`, `${path}-shm`]) chmodSync(file, 0o644);
  const db = openSqlite(path);
  try {
    for (const file of [path, `${path}-wal`, `${path}-shm`]) assert.equal(mode(file), '600', file);
  } finally {
    db.close();
    other.close();
  }
});

test('a path through a regular file, or where the file system refuses directories, fails at once', (t) => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  assert.throws(() => makePrivateDir(join(file, 'data')), { code: 'ENOTDIR' });
  if (!existsSync('/proc/self')) {
    t.skip('no /proc on this system');
    return;
  }
  // Node's own recursive mkdir never returns here.
  assert.throws(() => makePrivateDir('/proc/handoff-data/db'), { code: 'ENOENT' });
});
