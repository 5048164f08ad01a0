import type { Store } from '../ports.ts';
import type { Sql } from './database.ts';
import { openPostgres } from './database.ts';
import { postgresStore } from './index.ts';
import { dropSchema, freshSchemaName, testDatabaseUrl } from './testing.ts';

/**
 * A fresh PostgreSQL store in its own schema, with its pool: for tests that set up rows of tables
 * other ports write, or that race two callers. Closing it drops the schema.
 */
export async function openStoreWithSql(
  poolSize = 4,
): Promise<{ store: Store; sql: Sql; close: () => Promise<void> }> {
  const schema = freshSchemaName();
  const url = testDatabaseUrl();
  const sql = await openPostgres({ url, schema, poolSize });
  const store = postgresStore(sql);
  return {
    store,
    sql,
    close: async () => {
      await store.close();
      await dropSchema(schema, url);
    },
  };
}
