import type { SyncItem } from '../../sync/model.ts';
import type {
  DeadLetter,
  DesiredState,
  ItemResult,
  SyncCounts,
  SyncStore,
  Unmatched,
} from '../../sync/ports.ts';
import { CursorMovedError } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';

interface ItemRow {
  destination: string;
  contact: string;
  list: string;
  audience: string;
  profile_id: string;
  email: string | null;
  desired: number;
  rev: number;
  change_seq: number;
  priority: number;
  due_at: number;
  sent: number | null;
  state: SyncItem['state'];
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
}

const toItem = (r: ItemRow): SyncItem => ({
  destination: r.destination,
  contact: r.contact,
  list: r.list,
  audience: r.audience,
  profileId: r.profile_id,
  email: r.email ?? undefined,
  desired: r.desired === 1,
  rev: r.rev,
  changeSeq: r.change_seq,
  priority: r.priority,
  dueAt: r.due_at,
  sent: r.sent === null ? undefined : r.sent === 1,
  state: r.state,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error ?? undefined,
});

export function sqliteSyncStore(db: SqliteDatabase): Omit<SyncStore, 'retryDead' | 'skipDead'> {
  const position = db.prepare<[string], { position: number }>('SELECT position FROM cursors WHERE name = ?');
  const moveCursor = db.prepare(
    'INSERT INTO cursors (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position',
  );
  // A new desired state resets the retry budget: it is a new thing to deliver. The item is done
  // when the destination is known to hold it already. With no acknowledged send, a removal is
  // still owed unless no add can have gone out: an add whose reply was lost (a crash, a dropped
  // connection, a 5xx after applying) may be on the list. Likewise a change back to the acknowledged
  // value while the other one was owed is sent again: that send may have gone out unrecorded (the
  // process died or lost its lease between the request and recording it). (SET reads the row's old values.)
  const upsert = db.prepare(
    `INSERT INTO sync_items (destination, contact, list, audience, profile_id, email, desired, rev, change_seq, cause,
       version, changed_at, priority, due_at, state)
     VALUES (@destination, @contact, @list, @audience, @profileId, @email, @desired, 1, @changeSeq, @cause,
       @version, @changedAt, @priority, @dueAt, CASE WHEN @desired = 0 THEN 'done' ELSE 'pending' END)
     ON CONFLICT (destination, contact, list) DO UPDATE SET
       audience = excluded.audience, profile_id = excluded.profile_id, email = coalesce(excluded.email, email),
       desired = excluded.desired, rev = rev + 1, change_seq = excluded.change_seq, cause = excluded.cause,
       version = excluded.version, changed_at = excluded.changed_at, priority = excluded.priority,
       due_at = excluded.due_at, attempts = 0, next_attempt_at = 0, last_error = NULL, bulk_ok = 1,
       state = CASE
         WHEN sent IS NOT NULL THEN CASE WHEN excluded.desired = sent AND desired = sent THEN 'done' ELSE 'pending' END
         WHEN excluded.desired = 1 THEN 'pending'
         WHEN state = 'done' OR due_at > excluded.changed_at THEN 'done'
         ELSE 'pending' END`,
  );
  const unmatch = db.prepare(
    `INSERT INTO sync_unmatched (destination, audience, profile_id, reason, at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (destination, audience, profile_id) DO UPDATE SET reason = excluded.reason, at = excluded.at`,
  );
  const rematch = db.prepare(
    'DELETE FROM sync_unmatched WHERE destination = ? AND audience = ? AND profile_id = ?',
  );
  const record = writeTransaction(
    db,
    (
      destination: string,
      cursor: { name: string; from: number; to: number },
      desired: readonly DesiredState[],
      unmatched: readonly Unmatched[],
    ) => {
      const actual = position.get(cursor.name)?.position ?? 0;
      if (actual !== cursor.from) throw new CursorMovedError(cursor.name, cursor.from, actual);
      for (const d of desired) {
        upsert.run({ ...d, destination, email: d.email ?? null, desired: d.desired ? 1 : 0 });
      }
      for (const u of unmatched) {
        if (u.reason === undefined) rematch.run(destination, u.audience, u.profileId);
        else unmatch.run(destination, u.audience, u.profileId, u.reason, u.at);
      }
      moveCursor.run(cursor.name, cursor.to);
    },
  );

  // The batch is chosen by contact, so every due list of a chosen contact travels in its one request.
  const due = db.prepare<[string, number, number, string, number, number, number], ItemRow>(
    `SELECT * FROM sync_items WHERE destination = ? AND state = 'pending' AND due_at <= ? AND next_attempt_at <= ?
       AND bulk_job IS NULL AND contact IN (
         SELECT contact FROM sync_items WHERE destination = ? AND state = 'pending' AND due_at <= ? AND next_attempt_at <= ?
           AND bulk_job IS NULL
         ORDER BY priority DESC, due_at, contact LIMIT ?)
     ORDER BY priority DESC, due_at, contact, list`,
  );
  const nextDue = db.prepare<[string], { at: number | null }>(
    `SELECT min(max(due_at, next_attempt_at)) AS at FROM sync_items WHERE destination = ? AND state = 'pending' AND bulk_job IS NULL`,
  );
  // The acknowledged value is what was sent; the item stays pending if a newer change moved it since.
  const acknowledge = db.prepare(
    `UPDATE sync_items SET sent = @value, sent_at = @at, attempts = 0, next_attempt_at = 0, last_error = NULL,
       state = CASE WHEN desired = @value THEN 'done' ELSE 'pending' END
     WHERE destination = @destination AND contact = @contact AND list = @list`,
  );
  const reschedule = db.prepare(
    `UPDATE sync_items SET attempts = @attempts, next_attempt_at = @nextAttemptAt, last_error = @message
     WHERE destination = @destination AND contact = @contact AND list = @list AND rev = @rev`,
  );
  const bury = db.prepare(
    `UPDATE sync_items SET state = 'dead', attempts = @attempts, last_error = @message
     WHERE destination = @destination AND contact = @contact AND list = @list AND rev = @rev`,
  );
  const log = db.prepare(
    `INSERT INTO sync_log (destination, contact, list, audience, value, change_seq, result, status, error_key, message, request, at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const applyResults = writeTransaction(db, (destination: string, results: readonly ItemResult[]) => {
    for (const r of results) {
      const key = { destination, contact: r.item.contact, list: r.item.list };
      if (r.result === 'ok') acknowledge.run({ ...key, value: r.item.desired ? 1 : 0, at: r.at });
      else if (r.result === 'retry') {
        reschedule.run({
          ...key,
          rev: r.item.rev,
          attempts: r.attempts,
          nextAttemptAt: r.nextAttemptAt,
          message: r.message,
        });
      } else bury.run({ ...key, rev: r.item.rev, attempts: r.attempts, message: r.message });
      log.run(
        destination,
        r.item.contact,
        r.item.list,
        r.item.audience,
        r.item.desired ? 1 : 0,
        r.item.changeSeq,
        r.result,
        r.status ?? null,
        r.errorKey ?? null,
        r.message,
        r.request,
        r.at,
      );
    }
  });

  const counts = db.prepare<[string, string, string], SyncCounts>(
    `SELECT audience, list,
       sum(CASE WHEN sent = 1 THEN 1 ELSE 0 END) AS members,
       sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
       sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead,
       (SELECT count(*) FROM sync_unmatched u WHERE u.destination = ? AND u.audience = i.audience) AS unmatched
     FROM sync_items i WHERE destination = ? GROUP BY audience, list
     UNION ALL
     SELECT u.audience, '' AS list, 0, 0, 0, count(*) FROM sync_unmatched u
     WHERE u.destination = ? AND u.audience NOT IN (SELECT audience FROM sync_items WHERE destination = u.destination)
     GROUP BY u.audience
     ORDER BY audience, list`,
  );
  const dead = db.prepare<
    [string, string | null, string | null],
    Omit<DeadLetter, 'desired' | 'status' | 'errorKey'> & {
      desired: number;
      status: number | null;
      errorKey: string | null;
    }
  >(
    `SELECT i.contact, i.list, i.audience, i.desired, i.attempts, l.status, l.error_key AS errorKey, coalesce(l.message, i.last_error) AS message,
       l.request, l.at
     FROM sync_items i LEFT JOIN sync_log l ON l.id = (
       SELECT max(id) FROM sync_log WHERE destination = i.destination AND contact = i.contact AND list = i.list)
     WHERE i.destination = ? AND i.state = 'dead' AND (? IS NULL OR i.audience = ?)
     ORDER BY l.at NULLS FIRST, i.contact, i.list`,
  );
  const retry = db.prepare(
    `UPDATE sync_items SET state = 'pending', attempts = 0, next_attempt_at = 0
     WHERE destination = ? AND state = 'dead' AND (? IS NULL OR audience = ?)`,
  );
  const reassert = db.prepare(
    `UPDATE sync_items SET state = 'pending', attempts = 0, next_attempt_at = 0, sent = NULL
     WHERE destination = ? AND (sent IS NOT NULL OR desired = 1) AND (? IS NULL OR audience = ?)`,
  );
  const reassertContact = db.prepare(
    `UPDATE sync_items SET state = 'pending', attempts = 0, next_attempt_at = 0, sent = NULL
     WHERE destination = ? AND contact = ? AND (sent IS NOT NULL OR desired = 1) AND (? IS NULL OR audience = ?)`,
  );
  const reassertAll = writeTransaction(
    db,
    (destination: string, options: { audience?: string; contacts?: readonly string[] }): number => {
      const audience = options.audience ?? null;
      if (options.contacts === undefined) return reassert.run(destination, audience, audience).changes;
      let n = 0;
      for (const contact of options.contacts)
        n += reassertContact.run(destination, contact, audience, audience).changes;
      return n;
    },
  );
  const itemsOfMember = db.prepare<[string, string, string], ItemRow>(
    'SELECT * FROM sync_items WHERE destination = ? AND audience = ? AND profile_id = ?',
  );
  const unmatchedAfter = db.prepare<
    [string, string, string, number],
    { audience: string; profileId: string }
  >(
    `SELECT audience, profile_id AS profileId FROM sync_unmatched
     WHERE destination = ? AND (audience, profile_id) > (?, ?) ORDER BY audience, profile_id LIMIT ?`,
  );
  const items = db.prepare<[string, string | null, string | null], ItemRow>(
    'SELECT * FROM sync_items WHERE destination = ? AND (? IS NULL OR contact = ?) ORDER BY contact, list',
  );

  return {
    record: (destination, cursor, desired, unmatched) =>
      settle(() => record(destination, cursor, desired, unmatched)),
    due: (destination, now, limit) =>
      settle(() => due.all(destination, now, now, destination, now, now, limit).map(toItem)),
    nextDueAt: (destination) => settle(() => nextDue.get(destination)?.at ?? null),
    results: (destination, results) => settle(() => applyResults(destination, results)),
    counts: (destination) => settle(() => counts.all(destination, destination, destination)),
    deadLetters: (destination, audience) =>
      settle(() =>
        dead.all(destination, audience ?? null, audience ?? null).map((d) => ({
          ...d,
          desired: d.desired === 1,
          status: d.status ?? undefined,
          errorKey: d.errorKey ?? undefined,
        })),
      ),
    retry: (destination, audience) =>
      settle(() => retry.run(destination, audience ?? null, audience ?? null).changes),
    reassert: (destination, options = {}) => settle(() => reassertAll(destination, options)),
    itemsOfMember: (destination, audience, profileId) =>
      settle(() => itemsOfMember.all(destination, audience, profileId).map(toItem)),
    itemsOfMembers: (destination, members) =>
      settle(() =>
        members.flatMap((m) => itemsOfMember.all(destination, m.audience, m.profileId).map(toItem)),
      ),
    unmatchedAfter: (destination, after, limit) =>
      settle(() => unmatchedAfter.all(destination, after.audience, after.profileId, limit)),
    items: (destination, contact) =>
      settle(() => items.all(destination, contact ?? null, contact ?? null).map(toItem)),
  };
}
