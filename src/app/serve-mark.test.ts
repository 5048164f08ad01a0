import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearServeMark, markServe, runningServe } from './serve-mark.ts';

const dir = mkdtempSync(join(tmpdir(), 'handoff-serve-mark-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('a running serve is found by its mark, with its state, until it clears it', () => {
  const db = join(dir, 'a.db');
  assert.equal(runningServe(db), undefined);
  markServe(db, 'rebuilding', 1000);
  assert.deepEqual(runningServe(db), { pid: process.pid, state: 'rebuilding', since: 1000 });
  markServe(db, 'serving', 2000);
  assert.equal(runningServe(db)?.state, 'serving');
  clearServeMark(db);
  assert.equal(runningServe(db), undefined);
});

test('a mark left by a process that has exited is ignored, and an in-memory database has none', () => {
  const db = join(dir, 'b.db');
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  const pid = Number(gone.stdout.toString());
  writeFileSync(`${db}.serve`, JSON.stringify({ pid, state: 'serving', since: 0 }));
  assert.equal(runningServe(db), undefined);
  writeFileSync(`${db}.serve`, 'not json');
  assert.equal(runningServe(db), undefined);
  markServe(':memory:', 'serving', 0);
  assert.equal(runningServe(':memory:'), undefined);
});

test('a serve does not clear the mark another serve wrote since', () => {
  const db = join(dir, 'c.db');
  writeFileSync(`${db}.serve`, JSON.stringify({ pid: process.ppid, state: 'serving', since: 0 }));
  clearServeMark(db);
  assert.equal(runningServe(db)?.pid, process.ppid);
});
