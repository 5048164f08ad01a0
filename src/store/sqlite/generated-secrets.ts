import type { GeneratedSecretStore } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** Generated secrets in `generated_secrets`. */
export function sqliteGeneratedSecrets(db: SqliteDatabase): GeneratedSecretStore {
  const insert = db.prepare('INSERT OR IGNORE INTO generated_secrets (name, value) VALUES (?, ?)');
  const read = db.prepare<[string], string>('SELECT value FROM generated_secrets WHERE name = ?').pluck();
  const keep = writeTransaction(db, (values: Readonly<Record<string, string>>) => {
    const kept: Record<string, string> = {};
    for (const [name, value] of Object.entries(values)) {
      insert.run(name, value);
      kept[name] = read.get(name)!;
    }
    return kept;
  });
  return { keep: (values) => settle(() => keep(values)) };
}
