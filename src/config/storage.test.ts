import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from './load.ts';

test('storage.postgres: the URL comes from the environment, pool size and schema have defaults', () => {
  const loaded = parseConfig('storage:\n  postgres:\n    url: { env: HANDOFF_DATABASE_URL }\n', 'pg.yaml', {
    HANDOFF_DATABASE_URL: 'postgres://u:p@db:5432/handoff',
  });
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.error.message);
  assert.deepEqual(loaded.value.storage.postgres, {
    url: { env: 'HANDOFF_DATABASE_URL', value: 'postgres://u:p@db:5432/handoff' },
    poolSize: 10,
    schema: 'handoff',
  });
});

test('storage.postgres refuses a URL written in the file, a bad schema name and two stores at once', () => {
  const cases: [string, RegExp][] = [
    [
      'storage:\n  postgres:\n    url: postgres://u:p@db/h\n',
      /storage\.postgres\.url.*\{ env: SOME_VARIABLE \}/s,
    ],
    [
      'storage:\n  postgres:\n    url: { env: DB }\n    schema: "Bad-Name"\n',
      /storage\.postgres\.schema.*plain schema name/s,
    ],
    ['storage:\n  postgres:\n    url: { env: DB }\n    poolSize: 0\n', /storage\.postgres\.poolSize/],
    ['storage:\n  sqlite: { path: x.db }\n  postgres:\n    url: { env: DB }\n', /choose one store/],
  ];
  for (const [text, message] of cases) {
    const loaded = parseConfig(text, 'pg.yaml', { DB: 'postgres://x' });
    assert.ok(!loaded.ok, text);
    assert.match(loaded.error.message, message);
  }
});

test('without a storage section the store is the SQLite file', () => {
  const loaded = parseConfig('sources: []', 'min.yaml', {});
  assert.ok(loaded.ok);
  assert.equal(loaded.value.storage.sqlitePath, './data/handoff.db');
  assert.equal(loaded.value.storage.postgres, undefined);
});
