import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import { testDatabaseUrl } from '../store/postgres/testing.ts';
import { CursorMovedError } from '../store/ports.ts';
import { backoffMs, classifyFailure, describeFailure, TRANSIENT_RETRY } from './failure.ts';

const coded = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('classifyFailure', () => {
  const cases: [string, unknown, 'transient' | 'deterministic'][] = [
    ['SQLITE_BUSY', coded('SQLITE_BUSY', 'database is locked'), 'transient'],
    ['SQLITE_BUSY_SNAPSHOT', coded('SQLITE_BUSY_SNAPSHOT'), 'transient'],
    ['SQLITE_LOCKED', coded('SQLITE_LOCKED'), 'transient'],
    ['SQLITE_LOCKED_SHAREDCACHE', coded('SQLITE_LOCKED_SHAREDCACHE'), 'transient'],
    ['SQLITE_FULL', coded('SQLITE_FULL', 'database or disk is full'), 'transient'],
    ['SQLITE_IOERR', coded('SQLITE_IOERR'), 'transient'],
    ['SQLITE_IOERR_WRITE', coded('SQLITE_IOERR_WRITE'), 'transient'],
    ['ENOSPC', coded('ENOSPC', 'no space left on device'), 'transient'],
    ['another processor moved the cursor', new CursorMovedError('processor', 1, 2), 'transient'],
    ['a store that is closing', new TypeError('The database connection is not open'), 'transient'],
    [
      'a transient cause under a wrapper',
      new Error('commit failed', { cause: coded('SQLITE_BUSY') }),
      'transient',
    ],
    ['PostgreSQL serialization failure 40001', coded('40001'), 'transient'],
    ['PostgreSQL deadlock 40P01', coded('40P01'), 'transient'],
    ['PostgreSQL disk full 53100', coded('53100'), 'transient'],
    ['PostgreSQL too many connections 53300', coded('53300'), 'transient'],
    ['PostgreSQL admin shutdown 57P01', coded('57P01'), 'transient'],
    ['PostgreSQL starting up 57P03', coded('57P03'), 'transient'],
    ['PostgreSQL connection failure 08006', coded('08006'), 'transient'],
    ['PostgreSQL read-only transaction 25006', coded('25006'), 'transient'],
    ['PostgreSQL lock not available 55P03', coded('55P03'), 'transient'],
    ['porsager CONNECTION_CLOSED', coded('CONNECTION_CLOSED'), 'transient'],
    ['porsager CONNECTION_ENDED (pool closing)', coded('CONNECTION_ENDED'), 'transient'],
    ['porsager CONNECT_TIMEOUT', coded('CONNECT_TIMEOUT'), 'transient'],
    ['ECONNREFUSED', coded('ECONNREFUSED'), 'transient'],
    ['ECONNRESET', coded('ECONNRESET'), 'transient'],
    ['PostgreSQL unique violation 23505', coded('23505'), 'deterministic'],
    ['PostgreSQL invalid text 22P02', coded('22P02'), 'deterministic'],
    ['PostgreSQL undefined column 42703', coded('42703'), 'deterministic'],
    ['a stack overflow', new RangeError('Maximum call stack size exceeded'), 'deterministic'],
    ['a body that is not JSON', new SyntaxError('Unexpected token } in JSON'), 'deterministic'],
    ['a constraint', coded('SQLITE_CONSTRAINT_PRIMARYKEY'), 'deterministic'],
    ['a corrupt database file', coded('SQLITE_CORRUPT'), 'deterministic'],
    ['SQLITE_FULLY (not SQLITE_FULL)', coded('SQLITE_FULLY'), 'deterministic'],
    ['a plain error', new Error('disk full'), 'deterministic'],
    ['a thrown string', 'boom', 'deterministic'],
    ['undefined', undefined, 'deterministic'],
  ];
  for (const [name, error, kind] of cases) {
    test(`${name}: ${kind}`, () => assert.equal(classifyFailure(error), kind));
  }

  test('the errors a real SQLite database throws when locked, full or closed are transient', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x TEXT)');
    db.pragma('max_page_count = 2');
    const full = (() => {
      try {
        db.prepare('INSERT INTO t VALUES (?)').run('x'.repeat(100_000));
      } catch (error) {
        return error;
      }
    })();
    assert.equal((full as { code?: string }).code, 'SQLITE_FULL');
    assert.equal(classifyFailure(full), 'transient');
    db.close();
    const closed = (() => {
      try {
        db.prepare('SELECT 1');
      } catch (error) {
        return error;
      }
    })();
    assert.ok(closed instanceof Error);
    assert.equal(classifyFailure(closed), 'transient');
  });

  test('the errors a real PostgreSQL server and driver throw when unreachable, read-only or closed are transient', async () => {
    const failure = (work: Promise<unknown>): Promise<unknown> =>
      work.then(
        () => assert.fail('the statement succeeded'),
        (error: unknown) => error,
      );
    const refused = postgres('postgres://postgres@127.0.0.1:1/test', { max: 1, onnotice: () => {} });
    const unreachable = await failure(refused`SELECT 1`);
    await refused.end({ timeout: 1 });
    assert.equal((unreachable as { code?: string }).code, 'ECONNREFUSED');
    assert.equal(classifyFailure(unreachable), 'transient');

    const sql = postgres(testDatabaseUrl(), { max: 1, onnotice: () => {} });
    const readOnly = await failure(
      sql.begin(async (tx) => {
        await tx`SET TRANSACTION READ ONLY`;
        await tx`CREATE TEMP TABLE t (x int)`;
      }),
    );
    assert.equal((readOnly as { code?: string }).code, '25006');
    assert.equal(classifyFailure(readOnly), 'transient');
    const missing = await failure(sql`SELECT * FROM no_such_table_here`);
    assert.equal(classifyFailure(missing), 'deterministic', 'an undefined table is not retried');
    await sql.end({ timeout: 1 });
    const ended = await failure(sql`SELECT 1`);
    assert.equal(classifyFailure(ended), 'transient', String(ended));
  });
});

describe('describeFailure', () => {
  test('keeps the class, the code (or processing_failed), the message and the first stack frame', () => {
    const d = describeFailure(coded('SQLITE_CONSTRAINT', 'UNIQUE constraint failed'));
    assert.equal(d.errorClass, 'Error');
    assert.equal(d.code, 'SQLITE_CONSTRAINT');
    assert.equal(d.message, 'UNIQUE constraint failed');
    assert.match(d.frame ?? '', /^at .*failure\.test\.ts/);
    const plain = describeFailure(new RangeError('Maximum call stack size exceeded'));
    assert.equal(plain.errorClass, 'RangeError');
    assert.equal(plain.code, 'processing_failed');
    assert.deepEqual(describeFailure('boom'), {
      errorClass: 'string',
      code: 'processing_failed',
      message: 'boom',
      frame: null,
    });
  });

  test('a huge message is clipped', () => {
    assert.ok(describeFailure(new Error('x'.repeat(50_000))).message.length <= 1_001);
  });
});

describe('backoffMs', () => {
  test('grows by the multiplier from the first wait to the cap, shortened by at most the jitter', () => {
    const none = () => 0;
    assert.deepEqual(
      [1, 2, 3, 8, 20].map((n) => backoffMs(TRANSIENT_RETRY, n, none)),
      [250, 500, 1000, 30_000, 30_000],
    );
    assert.equal(
      backoffMs(TRANSIENT_RETRY, 1, () => 1),
      200,
    );
  });
});
