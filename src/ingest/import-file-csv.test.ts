// CSV imports: RFC 4180 syntax and header errors (the rest of the import tests are in import-file.test.ts).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseImportLines } from './import-file.ts';
import type { ImportFormat, ImportRecord } from './import-file.ts';

async function* linesOf(text: string): AsyncGenerator<string> {
  // Splitting on "\n" alone leaves CRLF's "\r" in place, as a naive caller would.
  for (const line of text.split('\n')) yield await Promise.resolve(line);
}

async function parse(text: string, format: ImportFormat): Promise<ImportRecord[]> {
  const records: ImportRecord[] = [];
  for await (const record of parseImportLines(linesOf(text), format)) records.push(record);
  return records;
}

const csv = (...lines: string[]) => parse(lines.join('\n'), 'csv');

describe('CSV syntax (RFC 4180)', () => {
  test('quoted commas, escaped quotes and an empty quoted field', async () => {
    assert.deepEqual(
      await csv('userId,traits.name,traits.quote,traits.empty', 'u1,"Lee, Ann","She said ""hi""",""'),
      [
        {
          line: 2,
          message: { type: 'identify', userId: 'u1', traits: { name: 'Lee, Ann', quote: 'She said "hi"' } },
        },
      ],
    );
  });

  test('a quoted field may span lines; the record reports the line it starts on', async () => {
    const records = await csv(
      'userId,traits.address,traits.city',
      'u1,"1 Main St',
      'Apt 2',
      '',
      'Rear entrance",Springfield',
      'u2,"",Shelbyville',
    );
    assert.deepEqual(records, [
      {
        line: 2,
        message: {
          type: 'identify',
          userId: 'u1',
          traits: { address: '1 Main St\nApt 2\n\nRear entrance', city: 'Springfield' },
        },
      },
      { line: 6, message: { type: 'identify', userId: 'u2', traits: { city: 'Shelbyville' } } },
    ]);
  });

  test('a quoted field may hold a header-like line and commas across lines', async () => {
    assert.deepEqual(await csv('event,properties.note', 'A,"x,', 'userId,email"'), [
      { line: 2, message: { type: 'track', event: 'A', properties: { note: 'x,\nuserId,email' } } },
    ]);
  });

  test('blank lines between records are skipped; CRLF and a BOM are tolerated', async () => {
    assert.deepEqual(await parse('\uFEFFuserId,traits.plan\r\n\r\nu1,pro\r\n   \r\nu2,free\r\n', 'csv'), [
      { line: 3, message: { type: 'identify', userId: 'u1', traits: { plan: 'pro' } } },
      { line: 5, message: { type: 'identify', userId: 'u2', traits: { plan: 'free' } } },
    ]);
  });

  test('a quote inside an unquoted field is kept as written', async () => {
    assert.deepEqual(await csv('event,properties.size', 'A,5" screen'), [
      { line: 2, message: { type: 'track', event: 'A', properties: { size: '5" screen' } } },
    ]);
  });

  test('ragged rows are errors for their own line only', async () => {
    const records = await csv('userId,traits.a,traits.b', 'u1,1', 'u2,1,2,3', 'u3,1,2', 'u4,"x', 'y"');
    assert.deepEqual(records, [
      { line: 2, error: 'row has 2 cells but the header has 3 columns' },
      { line: 3, error: 'row has 4 cells but the header has 3 columns' },
      { line: 4, message: { type: 'identify', userId: 'u3', traits: { a: 1, b: 2 } } },
      { line: 5, error: 'row has 2 cells but the header has 3 columns' },
    ]);
  });

  test('text after a closing quote is an error; the next line parses normally', async () => {
    const records = await csv('userId,traits.a', 'u1,"ab"c', 'u2,ok');
    assert.equal(records.length, 2);
    assert.deepEqual(records[0]?.line, 2);
    assert.match(
      records[0] && 'error' in records[0] ? records[0].error : '',
      /unexpected "c" after the closing quote of column 2/,
    );
    assert.deepEqual(records[1], {
      line: 3,
      message: { type: 'identify', userId: 'u2', traits: { a: 'ok' } },
    });
  });

  test('an unclosed quote is reported on the line where it opened', async () => {
    const records = await csv('userId,traits.a', 'u1,ok', 'u2,"never closed', 'u3,more');
    assert.deepEqual(records[0], {
      line: 2,
      message: { type: 'identify', userId: 'u1', traits: { a: 'ok' } },
    });
    assert.equal(records[1]?.line, 3);
    assert.match(records[1] && 'error' in records[1] ? records[1].error : '', /quoted field is never closed/);
    assert.equal(records.length, 2);
  });

  test('a stray quote stops buffering after 1 MiB instead of swallowing the file', async () => {
    const filler = Array.from({ length: 1100 }, (_, i) => `u${i},${'x'.repeat(1000)}`);
    const records = await csv('userId,traits.a', 'u0,"stray', ...filler);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.line, 2);
    assert.match(
      records[0] && 'error' in records[0] ? records[0].error : '',
      /still open after 1048576 characters/,
    );
  });
});

describe('CSV header errors', () => {
  const cases: [name: string, header: string, error: RegExp][] = [
    [
      'unknown column',
      'userId,e-mail,traits.plan',
      /unknown column "e-mail" \(column 2\)\. Accepted columns: userId \(or user_id\)/,
    ],
    [
      'several unknown columns',
      'foo,userId,bar',
      /unknown column "foo" \(column 1\); unknown column "bar" \(column 3\)/,
    ],
    ['unnamed column', 'userId,email,', /column 3 has no name/],
    ['prefix without a name', 'userId,properties.', /unknown column "properties\."/],
    ['same field twice', 'userId,user_id', /columns "userId" and "user_id" set the same field/],
    [
      'email and traits.email',
      'email,traits.email',
      /columns "email" and "traits\.email" set the same field/,
    ],
    ['broken quoting in the header', 'userId,"email"x', /unexpected "x" after the closing quote/],
  ];
  for (const [name, header, error] of cases) {
    test(name, async () => {
      const records = await csv(header, 'u1,a,b', 'u2,a,b');
      assert.equal(records.length, 1, 'a bad header stops the import with one error');
      assert.equal(records[0]?.line, 1);
      assert.match(records[0] && 'error' in records[0] ? records[0].error : '', error);
    });
  }

  test('the header is the first non-blank line', async () => {
    assert.deepEqual(await csv('', 'userId', 'u1'), [
      { line: 3, message: { type: 'identify', userId: 'u1' } },
    ]);
  });
});
