import { readFileSync } from 'node:fs';

export const EVENT_INSERT = `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The event table before dedupe moved to event_ids, and openSqlite's pragmas, for the second baseline. */
export const UNIQUE_EVENTS_TABLE = `CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, message_id TEXT NOT NULL,
  type TEXT NOT NULL, user_id TEXT, anonymous_id TEXT, name TEXT, ts INTEGER NOT NULL,
  received_at INTEGER NOT NULL, body TEXT NOT NULL, UNIQUE (source_id, message_id))`;
export const UNIQUE_BASELINE_PRAGMAS = [
  'journal_mode = WAL',
  'synchronous = FULL',
  'wal_autocheckpoint = 10000',
  'cache_size = -65536',
];

export function checkInsertMatchesStore(): void {
  const source = readFileSync(new URL('../../src/store/sqlite/event-log.ts', import.meta.url), 'utf8');
  const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
  if (!squash(source).includes(squash(EVENT_INSERT))) {
    throw new Error(
      'the INSERT in src/store/sqlite/event-log.ts changed; update EVENT_INSERT in bench/ingest.ts',
    );
  }
}

/** Prints where the profiled thread spent its time: by package or area, then the top functions by self time. */

export type Row = [
  string,
  string,
  string,
  string | null,
  string | null,
  string | null,
  number,
  number,
  string,
];
