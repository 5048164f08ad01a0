import type { Store } from './ports.ts';
import { createPostgresStore } from './postgres/index.ts';
import { createSqliteStore } from './sqlite/index.ts';

/** Where the store is: the SQLite file, unless a PostgreSQL database is given. */
export interface StoreLocation {
  sqlitePath: string;
  postgres?: { url: string; poolSize: number; schema: string } | undefined;
}

/** Opens (creating and migrating as needed) the configured store. */
export async function openStore(location: StoreLocation): Promise<Store> {
  if (location.postgres) return createPostgresStore(location.postgres);
  return createSqliteStore(location.sqlitePath);
}
