import type { EventColumns, LoggedEvent } from '../../ingest/event.ts';
import { columnsOf } from '../../ingest/event.ts';
import type { Message, MessageType } from '../../ingest/messages.ts';
import type { AppendOutcome, EventLog } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';
import { eventIdKey, IdFilter } from './event-ids.ts';

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

/** EventRow's columns, in order, as an array. */
type RawEventRow = [
  seq: number,
  sourceId: string,
  messageId: string,
  type: MessageType,
  userId: string | null,
  anonymousId: string | null,
  name: string | null,
  ts: number,
  receivedAt: number,
  body: string,
];
const EVENT_COLUMNS = 'seq, source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body';

/**
 * A profile's events (the profile's id is the `?`), through its history rows: `SELECT e.* FROM`
 * this, then an order. It starts from the profile, so the history rows are found by its number.
 */
export const EVENTS_OF_PROFILE = `profiles p JOIN profile_history h ON h.num = p.num, json_each(h.seqs) j
  JOIN events e ON e.seq = j.value WHERE p.id = ?`;

/** An event as the INSERT takes it: source, messageId, type, userId, anonymousId, name, ts, receivedAt, body. */
export type EventTuple = EventColumns;

export type Outcome = AppendOutcome['results'][number];

export interface EventLogOptions {
  /** Logged events whose ids are held in memory before they are merged into `event_ids`. Default 65,536. */
  mergeEvery?: number;
}

export const toTuple = columnsOf;

export interface EventLogWriter {
  /** Appends the batches in one transaction; one outcome per event, in order. */
  append(batches: readonly (readonly EventTuple[])[]): Outcome[][];
  /** Moves the in-memory ids into `event_ids` when enough have gathered; run between commits. */
  merge(): void;
}

/**
 * Appends to the event log on one connection, synchronously, deduplicated by (source, messageId)
 * for all time.
 *
 * Message ids are random, so a B-tree keyed by them takes a random page write per event. Instead
 * the ids of the newest events (the tail: seq above `event_ids_state.indexed_through`) are held
 * in memory, and every `mergeEvery` events they are hashed and merged into `event_ids` in key
 * order, in one transaction that writes each of its pages at most once. A lookup checks the tail,
 * then `event_ids`, confirming a hash hit against the event row (or the kept id of a
 * deleted profile's event). The tail is re-read from
 * the database whenever another connection has appended or merged, so a second process (an
 * import) deduplicates correctly too.
 */
export function eventLogWriter(db: SqliteDatabase, options: EventLogOptions = {}): EventLogWriter {
  const mergeEvery = options.mergeEvery ?? 65_536;
  const insert = db.prepare<EventTuple>(
    `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  // The highest offset handed out that still counts for dedupe: a deleted profile's events leave
  // the log, their ids stay in forgotten_events.
  const head = db
    .prepare<[], number>(
      `SELECT max(coalesce((SELECT max(seq) FROM events), 0), coalesce((SELECT max(seq) FROM forgotten_events), 0))`,
    )
    .pluck();
  const indexedThrough = db
    .prepare<[], number>('SELECT indexed_through FROM event_ids_state WHERE id = 1')
    .pluck();
  const setIndexedThrough = db.prepare('UPDATE event_ids_state SET indexed_through = ? WHERE id = 1');
  const tailRows = db.prepare<
    { from: number; to: number },
    { seq: number; source_id: string; message_id: string }
  >(
    `SELECT seq, source_id, message_id FROM events WHERE seq > @from AND seq <= @to
     UNION ALL SELECT seq, source_id, message_id FROM forgotten_events WHERE seq > @from AND seq <= @to`,
  );
  const allIds = db.prepare<[], number>('SELECT key FROM event_ids').pluck();
  const idCount = db.prepare<[], number>('SELECT count(*) FROM event_ids').pluck();
  const indexed = db
    .prepare<{ key: number; source: string; message: string }, number>(
      `SELECT i.seq FROM event_ids i WHERE i.key = @key AND (
         EXISTS (SELECT 1 FROM events e WHERE e.seq = i.seq AND e.source_id = @source AND e.message_id = @message)
         OR EXISTS (SELECT 1 FROM forgotten_events f
                     WHERE f.seq = i.seq AND f.source_id = @source AND f.message_id = @message)) LIMIT 1`,
    )
    .pluck();
  db.function('event_id_key', { deterministic: true }, (source: unknown, id: unknown) =>
    eventIdKey(String(source), String(id)),
  );
  const addIds = db.prepare<{ from: number; to: number }>(
    `INSERT OR IGNORE INTO event_ids (key, seq)
     SELECT event_id_key(source_id, message_id) AS key, seq FROM (
       SELECT seq, source_id, message_id FROM events WHERE seq > @from AND seq <= @to
       UNION ALL SELECT seq, source_id, message_id FROM forgotten_events WHERE seq > @from AND seq <= @to)
     ORDER BY key`,
  );

  /** `${source}\0${messageId}` of the events (logged or forgotten) with seq in (watermark, known]. */
  const tail = new Set<string>();
  let watermark = -1;
  let known = 0;
  /** The event_ids keys and seqs this writer appended since the tail was last read. */
  let ownKeys: number[] = [];
  let ownSeqs: number[] = [];
  /** True while the tail holds only this writer's rows, so ownKeys can be merged without reading them back. */
  let onlyOwn = false;
  /** Holds every key of event_ids up to indexed_through = filterThrough; rebuilt when that differs. */
  let filter = new IdFilter(0);
  let filterThrough = -1;

  /** Brings the tail up to date with the database; runs inside the write transaction. */
  const syncTail = (): void => {
    const through = indexedThrough.get() ?? 0;
    if (through !== filterThrough) {
      filter = new IdFilter(idCount.get() ?? 0);
      for (const key of allIds.iterate()) filter.add(key);
      filterThrough = through;
    }
    if (through !== watermark) {
      tail.clear();
      watermark = known = through;
      ownKeys = [];
      ownSeqs = [];
      onlyOwn = true;
    }
    const top = head.get() ?? 0;
    if (top > known) {
      for (const row of tailRows.iterate({ from: known, to: top }))
        tail.add(`${row.source_id}\u0000${row.message_id}`);
      known = top;
      onlyOwn = false;
    }
  };

  const appendAll = db.transaction((batches: readonly (readonly EventTuple[])[]): Outcome[][] => {
    syncTail();
    return batches.map((rows) =>
      rows.map((row): Outcome => {
        const key = `${row[0]}\u0000${row[1]}`;
        if (tail.has(key)) return 'duplicate';
        const idKey = eventIdKey(row[0], row[1]);
        if (
          filter.mayHave(idKey) &&
          indexed.get({ key: idKey, source: row[0], message: row[1] }) !== undefined
        )
          return 'duplicate';
        known = Number(insert.run(...row).lastInsertRowid);
        tail.add(key);
        ownKeys.push(idKey);
        ownSeqs.push(known);
        return 'stored';
      }),
    );
  });

  const addId = db.prepare<[number, number]>('INSERT OR IGNORE INTO event_ids (key, seq) VALUES (?, ?)');
  // Merged in seq ranges of `mergeEvery`, each in its own transaction; from memory when every
  // waiting row is this writer's, which saves reading the rows back.
  const mergeRange = db.transaction((): boolean => {
    const from = indexedThrough.get() ?? 0;
    const top = head.get() ?? 0;
    if (onlyOwn && from === watermark && top === known) {
      const keys = ownKeys;
      const seqs = ownSeqs;
      const order = Array.from(keys.keys()).sort((a, b) => keys[a]! - keys[b]!);
      for (const i of order) addId.run(keys[i]!, seqs[i]!);
      setIndexedThrough.run(top);
      if (filterThrough === from && filter.roomy) {
        for (const key of keys) filter.add(key);
        filterThrough = top;
      }
      return false;
    }
    const to = Math.min(top, from + mergeEvery);
    if (to <= from) return false;
    addIds.run({ from, to });
    setIndexedThrough.run(to);
    return to < top;
  });

  /** Merges once `threshold` events wait (default `mergeEvery`); a failure is retried next time. */
  const merge = (threshold = mergeEvery): void => {
    try {
      if ((head.get() ?? 0) - (indexedThrough.get() ?? 0) < threshold) return;
      try {
        while (mergeRange.immediate());
      } finally {
        watermark = -1;
      }
    } catch {
      // Until a merge succeeds, lookups still see every id, in the tail. A closed database ends here too.
    }
  };

  // An upgraded database (or one another process filled) is caught up at start, not on a request.
  merge();

  return {
    append: (batches) => {
      // A safety net: normally merge() ran after the last commit. This catches another process's
      // import arriving meanwhile, before its ids would be read into memory.
      merge(2 * mergeEvery);
      try {
        return appendAll.immediate(batches);
      } catch (error) {
        // The tail may hold ids of rolled-back rows: rebuild it from the database next time.
        watermark = -1;
        onlyOwn = false;
        throw error;
      }
    },
    merge: () => merge(),
  };
}

interface Pending {
  rows: EventTuple[];
  resolve: (outcome: AppendOutcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit around a synchronous writer: appends that arrive while the thread is busy share one
 * transaction and one fsync, and each caller's promise settles once that transaction committed.
 * Merging waits until the callers have their answers.
 */
export function groupCommit(writer: EventLogWriter): (rows: EventTuple[]) => Promise<AppendOutcome> {
  let queue: Pending[] = [];
  const flush = (): void => {
    const pending = queue;
    queue = [];
    try {
      const results = writer.append(pending.map((p) => p.rows));
      pending.forEach((p, i) => p.resolve({ results: results[i]! }));
    } catch (error) {
      if (pending.length === 1) pending[0]!.reject(error);
      // One caller's bad batch must not fail the others: retry each on its own.
      else
        for (const p of pending) {
          try {
            p.resolve({ results: writer.append([p.rows])[0]! });
          } catch (own) {
            p.reject(own);
          }
        }
    }
    setImmediate(() => writer.merge());
  };
  return (rows) =>
    new Promise((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ rows, resolve, reject });
    });
}

/** The event log on the caller's own connection and thread. */
export function sqliteEventLog(db: SqliteDatabase, options: EventLogOptions = {}): EventLog {
  // Rows as arrays, not objects: a quarter less time per row on the engine's hot path.
  const read = db
    .prepare<[number, number], RawEventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
    )
    .raw(true);
  const head = db.prepare<[], number | null>('SELECT max(seq) FROM events').pluck();
  const append = groupCommit(eventLogWriter(db, options));
  return {
    append: (events) =>
      events.length === 0 ? Promise.resolve({ results: [] }) : append(events.map(toTuple)),
    appendColumns: (rows) => (rows.length === 0 ? Promise.resolve({ results: [] }) : append(rows)),
    readAfter: (after, limit) => settle(() => read.all(after, limit).map((row) => new StoredEvent(...row))),
    head: () => settle(() => head.get() ?? 0),
  };
}

/**
 * An event as read from the log. The message is parsed on use, never before: the engine never
 * needs it for most events (a page view only says who it was, and that is in the columns), and
 * parsing every body was a tenth of a replay. Nor is the parsed message kept: the engine reads
 * each one once or twice (a source's small event up to three times), and a batch's messages kept
 * to its end made up a sixth of what the young generation promoted (1M-event replay: 2.4 GB
 * promoted with the cache, 2.0 without).
 */
class StoredEvent implements LoggedEvent {
  readonly offset: number;
  readonly sourceId: string;
  readonly messageId: string;
  readonly type: MessageType;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  readonly name: string | null;
  readonly timestamp: number;
  readonly receivedAt: number;
  readonly body: string;

  constructor(
    ...[seq, sourceId, messageId, type, userId, anonymousId, name, ts, receivedAt, body]: RawEventRow
  ) {
    this.offset = seq;
    this.sourceId = sourceId;
    this.messageId = messageId;
    this.type = type;
    this.userId = userId;
    this.anonymousId = anonymousId;
    this.name = name;
    this.timestamp = ts;
    this.receivedAt = receivedAt;
    this.body = body;
  }

  get message(): Message {
    return JSON.parse(this.body) as Message;
  }

  /** A plain object, message included, for JSON and for copies. */
  toJSON(): LoggedEvent {
    const { offset, sourceId, messageId, type, userId, anonymousId, name, timestamp, receivedAt, message } =
      this;
    return { offset, sourceId, messageId, type, userId, anonymousId, name, timestamp, receivedAt, message };
  }
}

export const toEvent = (row: EventRow): LoggedEvent =>
  new StoredEvent(
    row.seq,
    row.source_id,
    row.message_id,
    row.type,
    row.user_id,
    row.anonymous_id,
    row.name,
    row.ts,
    row.received_at,
    row.body,
  );
