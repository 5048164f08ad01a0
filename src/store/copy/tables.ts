/**
 * What `handoff store copy` moves: every table of the store, one entry each. The columns and
 * their types are PostgreSQL's (read from its catalogue at run time), so a column added to both
 * schemas needs no change here; an entry only says how a table is keyed and where SQLite keeps
 * it differently. A table PostgreSQL has and this list lacks stops the copy (see `checkMapping`).
 */
export interface TableMapping {
  /** The PostgreSQL table, and the SQLite one unless `sqlite` says otherwise. */
  table: string;
  /** The columns rows are read in order of, and resumed after: the primary key, or unique. */
  key: readonly string[];
  /** A column whose values a generator hands out: the next row continues after the copied ones. */
  identity?: string;
  /** How SQLite holds this table when not as a table of the same columns. */
  sqlite?: {
    /** A SELECT of the PostgreSQL columns, by name, from SQLite's tables. */
    read: string;
    /** Rows are written to this table of the new SQLite file, and `finish` rebuilds the real ones. */
    staging: string;
    /** Statements run once every table is copied. */
    finish: readonly string[];
  };
}

/**
 * A profile's history: PostgreSQL keeps one row per (profile, offset); SQLite one row per
 * profile and batch (`profile_history`, keyed by `profiles.num`). Read through SQLite's
 * `profile_events` view; written back as one history row per profile, as SQLite's own migration
 * to that layout wrote it, with profiles numbered in creation order.
 */
const profileEvents: TableMapping = {
  table: 'profile_events',
  key: ['profile_id', 'seq'],
  sqlite: {
    read: 'SELECT profile_id, seq FROM profile_events',
    staging: 'store_copy_profile_events',
    finish: [
      `UPDATE profiles SET num = n.r
         FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS r FROM profiles) AS n
         WHERE n.id = profiles.id`,
      `INSERT INTO profile_history (num, seq, seqs)
         SELECT p.num, min(e.seq), json_group_array(e.seq ORDER BY e.seq)
           FROM store_copy_profile_events e JOIN profiles p ON p.id = e.profile_id GROUP BY p.num`,
      'DROP TABLE store_copy_profile_events',
    ],
  },
};

/** In the order they are copied; parents before the rows that name them. */
export const TABLES: readonly TableMapping[] = [
  { table: 'events', key: ['seq'], identity: 'seq' },
  { table: 'cursors', key: ['name'] },
  { table: 'profiles', key: ['id'] },
  { table: 'identifiers', key: ['kind', 'value'] },
  { table: 'invalid_identifiers', key: ['profile_id', 'kind', 'value'] },
  { table: 'traits', key: ['profile_id', 'name'] },
  { table: 'merges', key: ['id'], identity: 'id' },
  profileEvents,
  { table: 'profile_state', key: ['profile_id'] },
  { table: 'memberships', key: ['audience', 'profile_id'] },
  { table: 'changes', key: ['seq'], identity: 'seq' },
  { table: 'scores', key: ['condition_id', 'profile_id'] },
  { table: 'audience_versions', key: ['audience'] },
  { table: 'sync_items', key: ['destination', 'contact', 'list'] },
  { table: 'sync_log', key: ['id'], identity: 'id' },
  { table: 'sync_unmatched', key: ['destination', 'audience', 'profile_id'] },
  // No key of its own: read in full-row order, so a resumed copy still continues after the last.
  { table: 'monitor_samples', key: ['check_name', 'audience', 'destination', 'at', 'value'] },
  { table: 'source_polls', key: ['id'], identity: 'id' },
  { table: 'source_holds', key: ['audience'] },
  { table: 'quarantined_events', key: ['seq'] },
  { table: 'sync_requests', key: ['id'], identity: 'id' },
  { table: 'monitor_alert_state', key: ['key'] },
  { table: 'sync_bulk_jobs', key: ['id'], identity: 'id' },
  { table: 'forgotten_events', key: ['seq'] },
  { table: 'generated_secrets', key: ['name'] },
];

/**
 * Tables that are no part of the data: schema bookkeeping, the copy's own progress, SQLite's
 * event id index, which is rebuilt from the log, the job leases of the processes running on
 * the source (the copy's processes take their own), and the rate budgets' next slots (requests
 * from the copy are paced from their first).
 */
export const NOT_COPIED = ['schema_version', 'store_copy_progress', 'leases', 'rate_budgets'] as const;

/** Stops a copy that would leave a table behind: PostgreSQL has a table this list does not. */
export function checkMapping(postgresTables: readonly string[]): void {
  const mapped = new Set(TABLES.map((t) => t.table));
  const missing = postgresTables.filter(
    (t) => !mapped.has(t) && !(NOT_COPIED as readonly string[]).includes(t),
  );
  if (missing.length > 0)
    throw new Error(
      `store copy does not know the table(s) ${missing.join(', ')}: add them to src/store/copy/tables.ts`,
    );
}
