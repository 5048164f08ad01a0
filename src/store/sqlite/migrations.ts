/** Schema migrations, applied in order; the database's user_version counts those applied. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    user_id TEXT,
    anonymous_id TEXT,
    name TEXT,
    ts INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (source_id, message_id)
  );
  CREATE TABLE cursors (name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE profiles (
    id TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    merged_into TEXT
  ) WITHOUT ROWID;
  CREATE TABLE identifiers (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    address TEXT,
    first_seen INTEGER NOT NULL,
    PRIMARY KEY (kind, value)
  ) WITHOUT ROWID;
  CREATE INDEX identifiers_by_profile ON identifiers (profile_id);
  CREATE TABLE invalid_identifiers (
    profile_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (profile_id, kind, value)
  ) WITHOUT ROWID;
  CREATE TABLE traits (
    profile_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (profile_id, name)
  ) WITHOUT ROWID;
  CREATE TABLE merges (
    id INTEGER PRIMARY KEY,
    from_profile TEXT NOT NULL,
    into_profile TEXT NOT NULL,
    cause TEXT NOT NULL,
    at INTEGER NOT NULL,
    event_seq INTEGER NOT NULL
  );
  CREATE INDEX merges_by_into ON merges (into_profile);
  CREATE TABLE profile_events (
    profile_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (profile_id, seq)
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE profile_state (
    profile_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    wake_at INTEGER
  ) WITHOUT ROWID;
  CREATE INDEX profile_state_by_wake ON profile_state (wake_at) WHERE wake_at IS NOT NULL;
  CREATE TABLE memberships (
    audience TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    since INTEGER NOT NULL,
    held_out INTEGER NOT NULL,
    PRIMARY KEY (audience, profile_id)
  ) WITHOUT ROWID;
  CREATE INDEX memberships_by_profile ON memberships (profile_id);
  CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    audience TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    change TEXT NOT NULL,
    at INTEGER NOT NULL,
    cause TEXT NOT NULL,
    version TEXT NOT NULL,
    held_out INTEGER NOT NULL
  );
  CREATE INDEX changes_by_profile ON changes (profile_id, seq);
  CREATE TABLE scores (
    condition_id TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (condition_id, profile_id)
  ) WITHOUT ROWID;
  CREATE INDEX scores_by_value ON scores (condition_id, value);
  `,
  `
  CREATE TABLE audience_versions (
    audience TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE sync_items (
    destination TEXT NOT NULL,
    contact TEXT NOT NULL,
    list TEXT NOT NULL,
    audience TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    email TEXT,
    desired INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    change_seq INTEGER NOT NULL,
    cause TEXT NOT NULL,
    version TEXT NOT NULL,
    changed_at INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    due_at INTEGER NOT NULL,
    sent INTEGER,
    sent_at INTEGER,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    PRIMARY KEY (destination, contact, list)
  ) WITHOUT ROWID;
  CREATE INDEX sync_items_pending ON sync_items (destination, state, due_at) WHERE state = 'pending';
  CREATE TABLE sync_log (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    contact TEXT NOT NULL,
    list TEXT NOT NULL,
    audience TEXT NOT NULL,
    value INTEGER NOT NULL,
    change_seq INTEGER NOT NULL,
    result TEXT NOT NULL,
    status INTEGER,
    error_key TEXT,
    message TEXT,
    request TEXT,
    at INTEGER NOT NULL
  );
  CREATE INDEX sync_log_by_contact ON sync_log (destination, contact, id);
  CREATE TABLE sync_unmatched (
    destination TEXT NOT NULL,
    audience TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (destination, audience, profile_id)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE profiles ADD COLUMN deleted_at INTEGER;
  `,
  `
  CREATE INDEX profiles_by_merged_into ON profiles (merged_into) WHERE merged_into IS NOT NULL;
  CREATE INDEX scores_by_profile ON scores (profile_id);
  `,
  // Monitoring: check samples and audience sizes, kept as time series.
  `
  CREATE TABLE monitor_samples (
    check_name TEXT NOT NULL,
    audience TEXT NOT NULL,
    destination TEXT NOT NULL,
    at INTEGER NOT NULL,
    value REAL NOT NULL
  );
  CREATE INDEX monitor_samples_by_series ON monitor_samples (check_name, audience, destination, at);
  CREATE INDEX monitor_samples_by_at ON monitor_samples (at);
  `,
  // Sourced audiences: every poll's outcome, and removals held back for confirmation.
  `
  CREATE TABLE source_polls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    audience TEXT NOT NULL,
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    members INTEGER NOT NULL,
    entered INTEGER NOT NULL,
    exited INTEGER NOT NULL,
    held INTEGER NOT NULL,
    error TEXT
  );
  CREATE INDEX source_polls_by_audience ON source_polls (audience, id);
  CREATE TABLE source_holds (
    audience TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    size INTEGER NOT NULL,
    profile_ids TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
  // Event dedupe leaves the events table: a UNIQUE index on random message ids cost a random page
  // write per event. event_ids holds hashed (source, messageId) keys merged in sorted runs; events
  // above indexed_through are looked up by the event log itself. Offsets (seq) are kept.
  `
  CREATE TABLE events_v2 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    source_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    user_id TEXT,
    anonymous_id TEXT,
    name TEXT,
    ts INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  INSERT INTO events_v2 (seq, source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
    SELECT seq, source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body FROM events;
  DELETE FROM sqlite_sequence WHERE name = 'events_v2';
  INSERT INTO sqlite_sequence (name, seq) SELECT 'events_v2', seq FROM sqlite_sequence WHERE name = 'events';
  DROP TABLE events;
  ALTER TABLE events_v2 RENAME TO events;
  CREATE TABLE event_ids (key INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (key, seq)) WITHOUT ROWID;
  CREATE TABLE event_ids_state (id INTEGER PRIMARY KEY CHECK (id = 1), indexed_through INTEGER NOT NULL);
  INSERT INTO event_ids_state (id, indexed_through) VALUES (1, 0);
  `,
  // A profile's history as one row per profile and batch: the offsets of its events in that
  // batch (a session's events usually arrive together), keyed by a small integer (profiles.num)
  // rather than the 36-character id. A fifth of the rows, a quarter of the key: a batch's commit
  // writes far fewer pages. profile_events stays, as a view, for readers.
  `
  ALTER TABLE profiles ADD COLUMN num INTEGER;
  UPDATE profiles SET num = n.r
    FROM (SELECT id, row_number() OVER (ORDER BY created_at, id) AS r FROM profiles) AS n
    WHERE n.id = profiles.id;
  CREATE UNIQUE INDEX profiles_by_num ON profiles (num);
  CREATE TABLE profile_history (
    num INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    seqs TEXT NOT NULL,
    PRIMARY KEY (num, seq)
  ) WITHOUT ROWID;
  INSERT INTO profile_history (num, seq, seqs)
    SELECT p.num, min(e.seq), json_group_array(e.seq ORDER BY e.seq)
      FROM profile_events e JOIN profiles p ON p.id = e.profile_id GROUP BY p.num;
  DROP TABLE profile_events;
  CREATE VIEW profile_events AS
    SELECT p.id AS profile_id, j.value AS seq
      FROM profile_history h CROSS JOIN json_each(h.seqs) AS j JOIN profiles p ON p.num = h.num;
  `,
  // event_ids keys move from SHA-1 to a cheaper hash: the index is emptied and rebuilt from the
  // log when the event log next opens.
  `
  DELETE FROM event_ids;
  UPDATE event_ids_state SET indexed_through = 0;
  `,
  // A batch's identity snapshot reads every identifier of the profiles it touches, in first-seen
  // order: an index holding those columns answers it without a lookup into identifiers per row
  // (and without sorting), half the time of the narrower index.
  `
  DROP INDEX identifiers_by_profile;
  CREATE INDEX identifiers_by_profile ON identifiers (profile_id, first_seen, kind, value, address);
  `,
  // Events the processor could not process, kept aside so the log moves on; an operator's retry
  // marks a row, and the next processor to commit takes it up.
  `
  CREATE TABLE IF NOT EXISTS quarantined_events (
    seq INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    type TEXT NOT NULL,
    error_class TEXT NOT NULL,
    error_code TEXT NOT NULL,
    error_message TEXT NOT NULL,
    error_frame TEXT,
    quarantined_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    retry_requested INTEGER NOT NULL DEFAULT 0
  );
  `,
  // One row per HTTP request sent to a destination (the sync log is per item): requests and
  // 429s are counted from here, so the figures match what the destination received.
  `
  CREATE TABLE IF NOT EXISTS sync_requests (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    at INTEGER NOT NULL
  );
  CREATE INDEX IF NOT EXISTS sync_requests_by_time ON sync_requests (destination, at);
  `,
  // The status each alert webhook was last told of, per check: no repeats across restarts.
  `
  CREATE TABLE IF NOT EXISTS monitor_alert_state (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Bulk import jobs: a large change set of one list goes to the destination as one file. An item
  // in a job waits (bulk_job set) until the job settles, so later changes go after it; bulk_ok = 0
  // sends it one contact at a time (a row an import rejected).
  `
  ALTER TABLE sync_items ADD COLUMN bulk_job INTEGER;
  ALTER TABLE sync_items ADD COLUMN bulk_ok INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX IF NOT EXISTS sync_items_by_bulk_job ON sync_items (bulk_job, contact) WHERE bulk_job IS NOT NULL;
  CREATE TABLE IF NOT EXISTS sync_bulk_jobs (
    id INTEGER PRIMARY KEY,
    destination TEXT NOT NULL,
    list TEXT NOT NULL,
    add_to INTEGER NOT NULL,
    token TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    rows INTEGER NOT NULL,
    remote_id TEXT,
    status TEXT,
    total_items INTEGER,
    completed_items INTEGER,
    result TEXT,
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    submitted_at INTEGER,
    status_since INTEGER,
    ended_at INTEGER,
    next_poll_at INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX IF NOT EXISTS sync_bulk_jobs_active ON sync_bulk_jobs (destination, state) WHERE state IN ('planned', 'running');
  `,
  // Job leases: each background job runs in the one process that holds its row (src/shared/leases.ts).
  `
  CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  `,
  // The rate budget of each destination account, shared by every process (src/sync/rate-limiter.ts):
  // the next free slot (ms, fractional), moved on by each request granted and past each pause.
  `
  CREATE TABLE IF NOT EXISTS rate_budgets (
    account TEXT PRIMARY KEY,
    next_at REAL NOT NULL
  );
  `,
  // Request ids are never handed out again (AUTOINCREMENT), as PostgreSQL's identity column: a
  // reader counting requests past an id would miss new ones once pruning emptied the table.
  `
  CREATE TABLE sync_requests_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination TEXT NOT NULL,
    method TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    outcome TEXT NOT NULL,
    status INTEGER,
    at INTEGER NOT NULL
  );
  INSERT INTO sync_requests_v2 (id, destination, method, endpoint, outcome, status, at)
    SELECT id, destination, method, endpoint, outcome, status, at FROM sync_requests ORDER BY id;
  DROP TABLE sync_requests;
  ALTER TABLE sync_requests_v2 RENAME TO sync_requests;
  CREATE INDEX sync_requests_by_time ON sync_requests (destination, at);
  `,
  // The ids of events removed with a deleted profile: their data goes, (source, messageId) stays,
  // so a client's retry of one is still a duplicate. event_ids keeps pointing at their offsets.
  `
  CREATE TABLE IF NOT EXISTS forgotten_events (
    seq INTEGER PRIMARY KEY,
    source_id TEXT NOT NULL,
    message_id TEXT NOT NULL
  );
  `,
  // Secrets generated for unset variables, kept with the data (see GeneratedSecretStore).
  `
  CREATE TABLE IF NOT EXISTS generated_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  `,
];
