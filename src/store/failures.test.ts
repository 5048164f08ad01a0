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
    [coded('53100'), /out of disk space/],
    [coded('53300'), /too many connections/],
    [coded('53200'), /out of memory/],
    [coded('25006'), /read-only/],
    [coded('57P03'), /starting up or shutting down/],
    [coded('57P01'), /shutting down or was stopped \(57P01\)/],
    [coded('08006'), /cannot be reached \(08006\)/],
    [coded('ECONNREFUSED'), /cannot be reached \(ECONNREFUSED\)/],
    [coded('CONNECTION_CLOSED'), /cannot be reached/],
    [coded('CONNECT_TIMEOUT'), /cannot be reached/],
    [coded('CONNECTION_ENDED'), /closing/],
    [new Error('wrapped', { cause: coded('53100') }), /out of disk space/],
    [coded('23505'), undefined],
    [coded('42P01'), undefined],
    [coded('5310'), undefined],
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
