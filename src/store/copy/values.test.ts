import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Column, Row } from './values.ts';
import { TableChecksum, canonical, copyText, forPostgres, forSqlite } from './values.ts';

const columns: Column[] = [
  { name: 'a', type: 'bigint' },
  { name: 'b', type: 'text' },
  { name: 'c', type: 'boolean' },
  { name: 'd', type: 'double precision' },
];
const row = fc.tuple(
  fc.oneof(fc.constant(null), fc.integer()),
  fc.oneof(fc.constant(null), fc.string()),
  fc.oneof(fc.constant(null), fc.boolean()),
  fc.oneof(fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true })),
) as fc.Arbitrary<Row>;
const sum = (rows: readonly Row[]): string => {
  const c = new TableChecksum();
  for (const r of rows) c.add(canonical(columns, r));
  return c.hex;
};

test('the checksum depends on the rows, not their order', () => {
  fc.assert(
    fc.property(fc.array(row), fc.integer(), (rows, seed) => {
      const shuffled = [...rows].sort((x, y) =>
        JSON.stringify(x) + seed < JSON.stringify(y) + seed ? -1 : 1,
      );
      assert.equal(sum(shuffled), sum(rows));
    }),
  );
});

test('a row read from SQLite (flags 0/1) and from PostgreSQL (booleans) has the same canonical text', () => {
  fc.assert(
    fc.property(row, (r) => {
      assert.equal(canonical(columns, forSqlite(columns, r)), canonical(columns, forPostgres(columns, r)));
    }),
  );
});

test('null, the empty string and the text "null" are three different values', () => {
  const texts = [null, '', 'null', '\\N'].map((b) => canonical(columns, [1, b, true, 0.5]));
  assert.equal(new Set(texts).size, 4);
  assert.notEqual(sum([[1, 'x', null, 1]]), sum([[1, 'x', false, 1]]));
});

test("COPY's text format escapes what would split a field or a line", () => {
  assert.equal(copyText([[1, 'a\tb\nc\\d\re', true, null]]), '1\ta\\tb\\nc\\\\d\\re\tt\t\\N\n');
});
