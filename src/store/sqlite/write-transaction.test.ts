import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SqliteDatabase } from './database.ts';
import { openSqlite, writeTransaction } from './database.ts';

const dir = mkdtempSync(join(tmpdir(), 'handoff-write-tx-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** Two connections on one fresh file, as `serve` and a command beside it hold; the second never waits. */
function twoConnections(): { first: SqliteDatabase; second: SqliteDatabase; close: () => void } {
  const path = join(dir, `db-${++files}.db`);
  const first = openSqlite(path);
  const second = openSqlite(path);
  second.pragma('busy_timeout = 0');
  first.exec('CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0)');
  return {
    first,
    second,
    close: () => {
      first.close();
      second.close();
    },
  };
}

/** Reads the counter, lets the other connection try to commit, then writes what it read plus one. */
const readThenWrite = (db: SqliteDatabase, between: () => void) => () => {
  const n = db.prepare('SELECT n FROM counter').pluck().get() as number;
  between();
  db.prepare('UPDATE counter SET n = ?').run(n + 1);
};

const otherCommit = (db: SqliteDatabase): string => {
  try {
    db.prepare('UPDATE counter SET n = n + 10').run();
    return 'committed';
  } catch (error) {
    return (error as { code: string }).code;
  }
};

test('a read-then-write transaction does not fail when another connection commits between its read and its write', () => {
  const { first, second, close } = twoConnections();
  try {
    let other = '';
    assert.doesNotThrow(
      writeTransaction(
        first,
        readThenWrite(first, () => (other = otherCommit(second))),
      ),
    );
    assert.equal(other, 'SQLITE_BUSY', 'the other writer waits for the lock instead of slipping in between');
    assert.equal(otherCommit(second), 'committed', 'and gets it once the first has committed');
    assert.equal(first.prepare('SELECT n FROM counter').pluck().get(), 11, 'no update is lost');
  } finally {
    close();
  }
});

test('the hazard it avoids: a deferred transaction in the same interleaving fails at once', () => {
  const { first, second, close } = twoConnections();
  try {
    let other = '';
    const deferred = first.transaction(readThenWrite(first, () => (other = otherCommit(second))));
    assert.throws(deferred, (error: { code?: string }) => error.code?.startsWith('SQLITE_BUSY') === true);
    assert.equal(other, 'committed');
  } finally {
    close();
  }
});

test('every transaction in the SQLite adapter that writes takes the write lock when it begins', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const deferred: string[] = [];
  for (const file of readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
    const text = readFileSync(join(here, file), 'utf8');
    for (const match of text.matchAll(/const (\w+) = db\.transaction\(/g)) {
      // A transaction bound to a name must be run with .immediate, like the event log's appends.
      if (!text.includes(`${match[1]}.immediate(`)) deferred.push(`${file}: ${match[1]}`);
    }
  }
  assert.deepEqual(deferred, [], 'use writeTransaction(db, …) or .immediate(…)');
});
