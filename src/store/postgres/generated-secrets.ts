import type { GeneratedSecretStore } from '../ports.ts';
import type { Sql } from './database.ts';

/** Generated secrets in `generated_secrets`. */
export function postgresGeneratedSecrets(sql: Sql): GeneratedSecretStore {
  return {
    keep: async (values) => {
      const names = Object.keys(values);
      if (names.length === 0) return {};
      // An insert that met another process's row waits for its commit; the read after it, a
      // statement of its own, then sees that row.
      await sql`
        INSERT INTO generated_secrets (name, value)
        SELECT * FROM unnest(${names}::text[], ${names.map((n) => values[n]!)}::text[])
        ON CONFLICT (name) DO NOTHING`;
      const rows = await sql<{ name: string; value: string }[]>`
        SELECT name, value FROM generated_secrets WHERE name = ANY(${names}::text[])`;
      return Object.fromEntries(rows.map((r) => [r.name, r.value]));
    },
  };
}
