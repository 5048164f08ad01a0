import { test } from 'node:test';
import assert from 'node:assert/strict';
import { storeUnavailableReason } from './failures.ts';

const coded = (code: string, cause?: unknown) =>
  Object.assign(new Error(code), { code }, cause ? { cause } : {});

test('store failures that are the server condition have a reason; others do not', () => {
  const table: [unknown, RegExp | undefined][] = [
    [coded('SQLITE_FULL'), /the database is full/],
    [coded('ENOSPC'), /no space is left/],
    [coded('SQLITE_IOERR_WRITE'), /I\/O error SQLITE_IOERR_WRITE/],
    [coded('SQLITE_IOERR'), /cannot be written/],
    [coded('SQLITE_READONLY_DBMOVED'), /read-only/],
    [coded('SQLITE_BUSY'), /locked by another process past the busy timeout/],
    [new Error('wrapped', { cause: coded('SQLITE_FULL') }), /the database is full/],
    [coded('SQLITE_CONSTRAINT_UNIQUE'), undefined],
    [coded('FST_ERR_CTP_INVALID_JSON_BODY'), undefined],
    [new Error('plain'), undefined],
    [undefined, undefined],
  ];
  for (const [error, expected] of table) {
    const reason = storeUnavailableReason(error);
    if (expected === undefined) assert.equal(reason, undefined, String(error));
    else assert.match(reason ?? '', expected, String(error));
  }
});
