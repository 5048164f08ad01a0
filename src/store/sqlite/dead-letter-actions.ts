import type { SyncStore } from '../../sync/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

/** Acting on chosen dead letters: send them again, or resolve them without sending (recorded). */
export function sqliteDeadLetterActions(db: SqliteDatabase): Pick<SyncStore, 'retryDead' | 'skipDead'> {
  const retry = db.prepare(
    `UPDATE sync_items SET state = 'pending', attempts = 0, next_attempt_at = 0
     WHERE destination = ? AND contact = ? AND list = ? AND state = 'dead'`,
  );
  const skip = db.prepare<
    [string, string, string],
    { audience: string; desired: number; change_seq: number }
  >(
    `UPDATE sync_items SET state = 'done'
     WHERE destination = ? AND contact = ? AND list = ? AND state = 'dead'
     RETURNING audience, desired, change_seq`,
  );
  // A skip leaves a row in the log like a send's, so the ledger says who gave up on the item and when.
  const log = db.prepare(
    `INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, status, error_key, message, request, at)
     VALUES (?, ?, ?, ?, ?, ?, 'skipped', NULL, NULL, ?, NULL, ?)`,
  );
  const retryAll = writeTransaction(
    db,
    (destination: string, items: readonly { contact: string; list: string }[]) =>
      items.reduce((n, i) => n + retry.run(destination, i.contact, i.list).changes, 0),
  );
  const skipAll = writeTransaction(
    db,

    (destination: string, items: readonly { contact: string; list: string }[], at: number, note: string) => {
      let n = 0;
      for (const i of items) {
        const row = skip.get(destination, i.contact, i.list);
        if (!row) continue;
        log.run(destination, i.contact, i.list, row.audience, row.desired, row.change_seq, note, at);
        n++;
      }
      return n;
    },
  );
  return {
    retryDead: (destination, items) => settle(() => retryAll(destination, items)),
    skipDead: (destination, items, at, note) => settle(() => skipAll(destination, items, at, note)),
  };
}
