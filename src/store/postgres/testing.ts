import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { Store } from '../ports.ts';
import { createPostgresStore } from './index.ts';

/** The database tests use: HANDOFF_TEST_DATABASE_URL, or the local server's `test` database. */
export const testDatabaseUrl = (env: NodeJS.ProcessEnv = process.env): string =>
  env.HANDOFF_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other test run uses: each run sees only its own rows. */
export const freshSchemaName = (): string => `handoff_test_${process.pid}_${randomBytes(4).toString('hex')}`;

/** Drops a test schema and everything in it. */
export async function dropSchema(schema: string, url = testDatabaseUrl()): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * A fresh, empty PostgreSQL store in a schema of its own; closing it drops the schema. A test
 * that asks for one fails when the database cannot be reached: it never passes by skipping.
 */
export async function openTestPostgresStore(options: { poolSize?: number } = {}): Promise<Store> {
  const schema = freshSchemaName();
  const url = testDatabaseUrl();
  const store = await createPostgresStore({ url, schema, ...options });
  return {
    ...store,
    close: async () => {
      await store.close();
      await dropSchema(schema, url);
    },
  };
}
