import type { AlertStateStore, AlertStatus as CheckStatus } from '../../monitor/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** The status last announced per alert target and check, in `monitor_alert_state`. */
export function sqliteAlertState(db: SqliteDatabase): AlertStateStore {
  const all = db.prepare<[], { key: string; status: CheckStatus }>(
    'SELECT key, status FROM monitor_alert_state',
  );
  const upsert = db.prepare(
    `INSERT INTO monitor_alert_state (key, status, at) VALUES (?, ?, ?)
     ON CONFLICT (key) DO UPDATE SET status = excluded.status, at = excluded.at`,
  );
  const set = writeTransaction(db, (key: string, status: CheckStatus, at: number) =>
    upsert.run(key, status, at),
  );
  return {
    alertStates: () => settle(() => new Map(all.all().map((r) => [r.key, r.status]))),
    setAlertState: (key, status, at) => settle(() => void set(key, status, at)),
  };
}
