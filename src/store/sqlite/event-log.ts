import type { IncomingEvent, LoggedEvent } from '../../ingest/event.ts';
import type { Message, MessageType } from '../../ingest/messages.ts';
import type { AppendOutcome, EventLog } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';

export interface EventRow {
  seq: number;
  source_id: string;
  message_id: string;
  type: MessageType;
  user_id: string | null;
  anonymous_id: string | null;
  name: string | null;
  ts: number;
  received_at: number;
  body: string;
}

export function sqliteEventLog(db: SqliteDatabase): EventLog {
  const insert = db.prepare(
    `INSERT OR IGNORE INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const read = db.prepare<[number, number], EventRow>(
    'SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
  );
  const head = db.prepare<[], { seq: number | null }>('SELECT max(seq) AS seq FROM events');
  const appendAll = db.transaction((events: readonly IncomingEvent[]): AppendOutcome['results'] =>
    events.map((e) => {
      const { changes } = insert.run(
        e.sourceId,
        e.messageId,
        e.type,
        e.userId,
        e.anonymousId,
        e.name,
        e.timestamp,
        e.receivedAt,
        JSON.stringify(e.message),
      );
      return changes === 1 ? 'stored' : 'duplicate';
    }),
  );

  return {
    append: (events) => settle(() => ({ results: events.length === 0 ? [] : appendAll(events) })),
    readAfter: (after, limit) => settle(() => read.all(after, limit).map(toEvent)),
    head: () => settle(() => head.get()?.seq ?? 0),
  };
}

export function toEvent(row: EventRow): LoggedEvent {
  return {
    offset: row.seq,
    sourceId: row.source_id,
    messageId: row.message_id,
    type: row.type,
    userId: row.user_id,
    anonymousId: row.anonymous_id,
    name: row.name,
    timestamp: row.ts,
    receivedAt: row.received_at,
    message: JSON.parse(row.body) as Message,
  };
}
