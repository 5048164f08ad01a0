import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { detectFormat, parseImportLines } from './import-file.ts';
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

describe('detectFormat', () => {
  const cases: [path: string, format: ImportFormat][] = [
    ['events.jsonl', 'jsonl'],
    ['events.ndjson', 'jsonl'],
    ['/tmp/export.json', 'jsonl'],
    ['EVENTS.CSV', 'csv'],
    ['dir.v2/people.csv', 'csv'],
  ];
  for (const [path, format] of cases) {
    test(path, () => assert.deepEqual(detectFormat(path), { ok: true, value: format }));
  }
  for (const path of ['events.txt', 'events.csv.gz', 'events', 'csv']) {
    test(`${path} is rejected`, () => {
      const result = detectFormat(path);
      assert.equal(result.ok, false);
      if (!result.ok) {
        assert.equal(result.error.code, 'import.unknown_format');
        assert.match(result.error.message, /\.jsonl.*\.csv/);
      }
    });
  }
});

describe('JSONL', () => {
  test('messages keep their line numbers across blank lines', async () => {
    const records = await parse(
      [
        '{"type":"identify","userId":"u1","traits":{"email":"ann@x.com"}}',
        '',
        '   ',
        '{"type":"page","userId":"u1","name":"Home"}',
      ].join('\n'),
      'jsonl',
    );
    assert.deepEqual(records, [
      { line: 1, message: { type: 'identify', userId: 'u1', traits: { email: 'ann@x.com' } } },
      { line: 4, message: { type: 'page', userId: 'u1', name: 'Home' } },
    ]);
  });

  test('a message with an event and no type is a track', async () => {
    assert.deepEqual(await parse('{"event":"Order Completed","userId":"u1"}', 'jsonl'), [
      { line: 1, message: { type: 'track', event: 'Order Completed', userId: 'u1' } },
    ]);
  });

  test('CRLF line endings and a BOM are tolerated', async () => {
    assert.deepEqual(
      await parse('\uFEFF{"type":"track","event":"A"}\r\n{"type":"alias","previousId":"a"}\r\n', 'jsonl'),
      [
        { line: 1, message: { type: 'track', event: 'A' } },
        { line: 2, message: { type: 'alias', previousId: 'a' } },
      ],
    );
  });

  const errors: [name: string, line: string, error: RegExp][] = [
    ['broken JSON', '{"type":"track",', /^invalid JSON: /],
    ['an array', '[{"type":"track","event":"A"}]', /expected a JSON object.*got an array.*not an array/],
    ['a number', '42', /got a number/],
    ['a string', '"track"', /got a string/],
    ['null', 'null', /got null/],
    ['no type and no event', '{"userId":"u1"}', /missing "type"; expected identify, track, page/],
    ['unknown type', '{"type":"purchase","event":"A"}', /unknown "type" "purchase"/],
    ['type in capitals', '{"type":"Track","event":"A"}', /unknown "type" "Track"/],
    ['non-string type', '{"type":7}', /unknown "type" 7/],
  ];
  for (const [name, line, error] of errors) {
    test(`error: ${name}`, async () => {
      const records = await parse(
        `{"type":"track","event":"ok"}\n\n${line}\n{"type":"track","event":"after"}`,
        'jsonl',
      );
      assert.equal(records.length, 3);
      const [, bad, after] = records;
      assert.equal(bad?.line, 3);
      assert.ok(bad && 'error' in bad, 'expected an error record');
      assert.match(bad.error, error);
      assert.deepEqual(after, { line: 4, message: { type: 'track', event: 'after' } });
    });
  }

  test('a pretty-printed JSON document gets a hint on its first line', async () => {
    const [first] = await parse('{\n  "type": "track"\n}', 'jsonl');
    assert.ok(first && 'error' in first);
    assert.match(first.error, /one JSON message per line/);
  });
});

describe('CSV rows to messages', () => {
  test('a row without an event is an identify; email and phone become traits', async () => {
    assert.deepEqual(
      await csv('userId,email,phone,traits.plan,traits.age', 'u1,Ann@X.com,4155552671,pro,42'),
      [
        {
          line: 2,
          message: {
            type: 'identify',
            userId: 'u1',
            traits: { email: 'Ann@X.com', phone: '4155552671', plan: 'pro', age: 42 },
          },
        },
      ],
    );
  });

  test('a row with an event is a track; email and phone go to context.traits', async () => {
    assert.deepEqual(
      await csv(
        'user_id,anonymous_id,message_id,timestamp,event,properties.total,properties.coupon,email,traits.tier',
        'u1,a1,m1,2024-05-01T10:00:00Z,Order Completed,49.90,SAVE10,ann@x.com,gold',
      ),
      [
        {
          line: 2,
          message: {
            type: 'track',
            event: 'Order Completed',
            userId: 'u1',
            anonymousId: 'a1',
            messageId: 'm1',
            timestamp: '2024-05-01T10:00:00Z',
            properties: { total: 49.9, coupon: 'SAVE10' },
            context: { traits: { email: 'ann@x.com', tier: 'gold' } },
          },
        },
      ],
    );
  });

  test('empty cells are omitted, including whole objects', async () => {
    assert.deepEqual(
      await csv('userId,anonymousId,event,properties.total,email', 'u1,,Signed Up,,', ',a2,,,""'),
      [
        { line: 2, message: { type: 'track', event: 'Signed Up', userId: 'u1' } },
        { line: 3, message: { type: 'identify', anonymousId: 'a2' } },
      ],
    );
  });

  test('fixed header names are case-insensitive and trimmed; property names keep their case', async () => {
    assert.deepEqual(await csv('USERID, Event ,Properties.planName,TRAITS.Email', 'u1,Upgraded,Pro,'), [
      {
        line: 2,
        message: { type: 'track', event: 'Upgraded', userId: 'u1', properties: { planName: 'Pro' } },
      },
    ]);
  });

  test('an explicit type column is honoured and checked', async () => {
    const records = await csv(
      'type,userId,event,properties.x,traits.y',
      'TRACK,u1,A,1,',
      'identify,u1,,,2',
      'track,u1,,,',
      'identify,u1,A,,',
      'page,u1,,,',
      ',u1,,1,',
    );
    assert.deepEqual(records.slice(0, 2), [
      { line: 2, message: { type: 'track', event: 'A', userId: 'u1', properties: { x: 1 } } },
      { line: 3, message: { type: 'identify', userId: 'u1', traits: { y: 2 } } },
    ]);
    const errors = records.slice(2).map((r) => ('error' in r ? [r.line, r.error] : [r.line, 'no error']));
    assert.equal(errors.length, 4);
    assert.deepEqual(
      errors.map(([line]) => line),
      [4, 5, 6, 7],
    );
    assert.match(String(errors[0]?.[1]), /type is track but the event cell is empty/);
    assert.match(String(errors[1]?.[1]), /type is identify but the row has an event \("A"\)/);
    assert.match(
      String(errors[2]?.[1]),
      /type "page" is not supported in CSV.*use JSONL for page, screen, group and alias/,
    );
    assert.match(String(errors[3]?.[1]), /properties\.x is set but the row has no event/);
  });

  test('a properties.__proto__ column is data, not a prototype', async () => {
    const [record] = await csv('event,properties.__proto__', 'A,x');
    assert.ok(record && 'message' in record);
    const properties = record.message.properties as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(properties), Object.prototype);
    assert.deepEqual(Object.entries(properties), [['__proto__', 'x']]);
  });
});

describe('CSV value coercion in properties and traits', () => {
  const cases: [cell: string, value: unknown][] = [
    ['49.90', 49.9],
    ['-3', -3],
    ['0', 0],
    ['-0', 0],
    ['0.5', 0.5],
    ['123456789012345', 123456789012345],
    ['true', true],
    ['false', false],
    ['TRUE', true], // how Excel writes booleans
    ['False', false],
    ['007', '007'], // leading zeros are identifiers, not quantities
    ['02134', '02134'], // a ZIP code
    ['1234567890123456', '1234567890123456'], // past 15 digits a double would round
    ['1e5', '1e5'],
    ['+3', '+3'],
    ['.5', '.5'],
    ['3.', '3.'],
    [' 4', ' 4'],
    ['"1,000"', '1,000'],
    ['yes', 'yes'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
  ];
  for (const [cell, value] of cases) {
    test(`${cell} → ${JSON.stringify(value)}`, async () => {
      assert.deepEqual(await csv('userId,traits.v', `u1,${cell}`), [
        { line: 2, message: { type: 'identify', userId: 'u1', traits: { v: value } } },
      ]);
    });
  }

  test('identifiers and fixed fields are never coerced', async () => {
    assert.deepEqual(await csv('userId,phone,email,event,messageId', '42,4155552671,true,1,007'), [
      {
        line: 2,
        message: {
          type: 'track',
          event: '1',
          userId: '42',
          messageId: '007',
          context: { traits: { phone: '4155552671', email: 'true' } },
        },
      },
    ]);
  });
});

test('records stream out before the input ends', async () => {
  async function* source(): AsyncGenerator<string> {
    yield await Promise.resolve('{"type":"track","event":"A"}');
    throw new Error('the rest of the file was never needed');
  }
  const records = parseImportLines(source(), 'jsonl');
  assert.deepEqual(await records.next(), {
    done: false,
    value: { line: 1, message: { type: 'track', event: 'A' } },
  });
  await records.return(undefined);
});
