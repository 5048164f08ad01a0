import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openPostgres } from './database.ts';
import { PG_MIGRATIONS } from './migrations.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from './testing.ts';

test('two processes opening a new schema at once migrate it once, and only inside that schema', async () => {
  const schema = freshSchemaName();
  const url = testDatabaseUrl();
  const pools = await Promise.all([
    openPostgres({ url, schema, poolSize: 2 }),
    openPostgres({ url, schema, poolSize: 2 }),
  ]);
  try {
    const [a] = pools;
    const versions = await a`SELECT version FROM schema_version`;
    assert.deepEqual(
      versions.map((r) => r.version),
      [PG_MIGRATIONS.length],
    );
    const tables = await a<{ schema: string }[]>`
      SELECT DISTINCT table_schema AS schema FROM information_schema.tables WHERE table_name = 'sync_items' AND table_schema LIKE 'handoff_test_%' AND table_schema = ${schema}`;
    assert.deepEqual(
      tables.map((t) => t.schema),
      [schema],
    );
    const [row] = await a<{ n: number }[]>`SELECT count(*)::bigint AS n FROM events`;
    assert.equal(row?.n, 0, 'counts read as numbers');
  } finally {
    await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
    await dropSchema(schema, url);
  }
});

test('a database at a newer schema version than this Handoff is refused', async () => {
  const schema = freshSchemaName();
  const url = testDatabaseUrl();
  const sql = await openPostgres({ url, schema, poolSize: 1 });
  await sql`UPDATE schema_version SET version = ${PG_MIGRATIONS.length + 1}`;
  await sql.end({ timeout: 5 });
  try {
    await assert.rejects(openPostgres({ url, schema, poolSize: 1 }), /newer than this Handoff/);
  } finally {
    await dropSchema(schema, url);
  }
});

test('a schema name that is not a plain identifier is refused before connecting', async () => {
  await assert.rejects(
    openPostgres({ url: testDatabaseUrl(), schema: 'x"; DROP TABLE y; --' }),
    /not a plain schema name/,
  );
});

test('an unreachable server fails the open with its connection error', async () => {
  await assert.rejects(
    openPostgres({ url: 'postgres://postgres@127.0.0.1:1/test', schema: 'handoff' }),
    (e: Error & { code?: string }) => e.code === 'ECONNREFUSED',
  );
});
