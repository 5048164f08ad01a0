import type { AlertStateStore, AlertStatus } from '../../monitor/ports.ts';
import type { Sql } from './database.ts';

/** The status last announced per alert target and check, in `monitor_alert_state`. */
export function postgresAlertState(sql: Sql): AlertStateStore {
  return {
    alertStates: async () =>
      new Map(
        (await sql<{ key: string; status: AlertStatus }[]>`SELECT key, status FROM monitor_alert_state`).map(
          (r) => [r.key, r.status],
        ),
      ),
    setAlertState: async (key, status, at) => {
      await sql`
        INSERT INTO monitor_alert_state (key, status, at) VALUES (${key}, ${status}, ${at})
        ON CONFLICT (key) DO UPDATE SET status = excluded.status, at = excluded.at`;
    },
  };
}
