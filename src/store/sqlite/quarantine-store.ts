import type { QuarantinedEvent, QuarantineStore, QuarantineWrites } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';
import type { EventRow } from './event-log.ts';
import { toEvent } from './event-log.ts';

interface QuarantineRow {
  seq: number;
  source_id: string;
  message_id: string;
  type: string;
  error_class: string;
  error_code: string;
  error_message: string;
  error_frame: string | null;
  quarantined_at: number;
  attempts: number;
  retry_requested: number;
}

const toQuarantined = (r: QuarantineRow): QuarantinedEvent => ({
  offset: r.seq,
  sourceId: r.source_id,
  messageId: r.message_id,
  type: r.type,
  error: { errorClass: r.error_class, code: r.error_code, message: r.error_message, frame: r.error_frame },
  quarantinedAt: r.quarantined_at,
  attempts: r.attempts,
  retryRequested: r.retry_requested === 1,
});

/** The quarantine's reads and an operator's retry marks. */
export function sqliteQuarantineStore(db: SqliteDatabase): QuarantineStore {
  const list = db.prepare<[number], QuarantineRow>('SELECT * FROM quarantined_events ORDER BY seq LIMIT ?');
  const count = db.prepare<[], number>('SELECT count(*) FROM quarantined_events').pluck();
  const markAll = db.prepare('UPDATE quarantined_events SET retry_requested = 1 WHERE retry_requested = 0');
  const markOne = db.prepare<[number]>(
    'UPDATE quarantined_events SET retry_requested = 1 WHERE seq = ? AND retry_requested = 0',
  );
  const isQuarantined = db
    .prepare<[number], number>('SELECT 1 FROM quarantined_events WHERE seq = ?')
    .pluck();
  const marked = db.prepare<[number], { seq: number } & Partial<EventRow>>(
    `SELECT q.seq, e.source_id, e.message_id, e.type, e.user_id, e.anonymous_id, e.name, e.ts,
            e.received_at, e.body
       FROM quarantined_events q LEFT JOIN events e ON e.seq = q.seq
      WHERE q.retry_requested = 1 ORDER BY q.seq LIMIT ?`,
  );
  const dropWakeup = db.prepare<[string]>('UPDATE profile_state SET wake_at = NULL WHERE profile_id = ?');
  const markSome = db.transaction((offsets: readonly number[]) => {
    let n = 0;
    for (const offset of offsets) {
      // An offset marked already counts as marked: asking twice is not an error.
      if (markOne.run(offset).changes === 1 || isQuarantined.get(offset) !== undefined) n++;
    }
    return n;
  });
  const markAllTx = db.transaction(() => {
    markAll.run();
    return count.get() ?? 0;
  });
  return {
    list: (limit = 1_000) => settle(() => list.all(limit).map(toQuarantined)),
    count: () => settle(() => count.get() ?? 0),
    requestRetry: (which) =>
      settle(() => (which === 'all' ? markAllTx.immediate() : markSome.immediate(which))),
    dropWakeup: (profileId) => settle(() => void dropWakeup.run(profileId)),
    marked: (limit) =>
      settle(() =>
        marked.all(limit).map((r) => ({
          offset: r.seq,
          event: r.body === undefined || r.body === null ? undefined : toEvent(r as EventRow),
        })),
      ),
  };
}

/**
 * Applies a batch's quarantine step inside the batch's transaction. A claimed offset that is no
 * longer marked means another processor retried it first: CursorMovedError undoes the batch.
 */
export function quarantineWriter(db: SqliteDatabase): (writes: QuarantineWrites | undefined) => void {
  const claim = db.prepare<[number]>(
    'UPDATE quarantined_events SET retry_requested = 0 WHERE seq = ? AND retry_requested = 1',
  );
  const release = db.prepare<[number]>('DELETE FROM quarantined_events WHERE seq = ?');
  const add = db.prepare(
    `INSERT INTO quarantined_events (seq, source_id, message_id, type, error_class, error_code,
       error_message, error_frame, quarantined_at, attempts)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
     ON CONFLICT (seq) DO UPDATE SET error_class = excluded.error_class, error_code = excluded.error_code,
       error_message = excluded.error_message, error_frame = excluded.error_frame,
       quarantined_at = excluded.quarantined_at, attempts = attempts + 1`,
  );
  return (writes) => {
    if (writes === undefined) return;
    for (const offset of writes.claimed)
      if (claim.run(offset).changes !== 1) throw new CursorMovedError(`quarantine retry of ${offset}`, 1, 0);
    for (const offset of writes.released) release.run(offset);
    for (const { event, error, at } of writes.add)
      add.run(
        event.offset,
        event.sourceId,
        event.messageId,
        event.type,
        error.errorClass,
        error.code,
        error.message,
        error.frame,
        at,
      );
  };
}
