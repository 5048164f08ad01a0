import { test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { storeUnavailableReason } from '../failures.ts';
import { openPostgres } from './database.ts';
import { postgresReadiness } from './readiness.ts';
import { postgresEventLog } from './event-log.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from './testing.ts';

test('readiness: a writable database is ready; read-only, or unreachable, it is not, with the reason', async () => {
  const schema = freshSchemaName();
  const sql = await openPostgres({ url: testDatabaseUrl(), schema, poolSize: 2 });
  try {
    assert.deepEqual(await postgresReadiness(sql)(), { ok: true });
    // Every transaction read-only, as on a standby or a database an operator set read-only.
    const ro = postgres(testDatabaseUrl(), {
      max: 1,
      onnotice: () => {},
      connection: { search_path: schema, default_transaction_read_only: true },
    });
    try {
      assert.deepEqual(await postgresReadiness(ro)(), { ok: false, reason: 'the database is read-only' });
      const error = await postgresEventLog(ro, (signal) => ({ channel: 'handoff:readiness', payload: signal }))
        .append([
          {
            sourceId: 'web',
            messageId: 'm1',
            type: 'track',
            userId: 'u1',
            anonymousId: null,
            name: 'x',
            timestamp: 1,
            receivedAt: 2,
            message: { type: 'track', event: 'x', userId: 'u1', messageId: 'm1' },
          },
        ])
        .then(
          () => assert.fail('appended to a read-only database'),
          (e: unknown) => e,
        );
      assert.equal(storeUnavailableReason(error), 'the database is read-only');
    } finally {
      await ro.end({ timeout: 1 });
    }
  } finally {
    await sql.end({ timeout: 1 });
    await dropSchema(schema);
  }
  const gone = await openPostgres({ url: testDatabaseUrl(), schema, poolSize: 1 });
  await gone.end({ timeout: 1 });
  const ready = await postgresReadiness(gone)();
  assert.equal(ready.ok, false);
  await dropSchema(schema);
});

test('readiness: not ready while the schema is not at this version (another process migrating, or newer code)', async () => {
  const schema = freshSchemaName();
  const sql = await openPostgres({ url: testDatabaseUrl(), schema, poolSize: 2 });
  try {
    await sql`UPDATE schema_version SET version = version - 1`;
    const behind = await postgresReadiness(sql)();
    assert.equal(behind.ok, false);
    assert.match(
      behind.ok ? '' : behind.reason,
      /^the schema is at migration \d+, this Handoff expects \d+: migrations are not done$/,
    );
    await sql`UPDATE schema_version SET version = version + 1`;
    assert.deepEqual(await postgresReadiness(sql)(), { ok: true });
  } finally {
    await sql.end({ timeout: 1 });
    await dropSchema(schema);
  }
});
