import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { runCli } from './cli.ts';

/** Text no copy may bend: tabs, newlines, backslashes, quotes, braces, non-ASCII. */
export const AWKWARD = 'tab\there\nnew "line" \\ back {a,b} NULL \\N é 🛒';

/** A handoff.yaml for the SQLite store at `dbPath` (or a PostgreSQL schema), syncing one audience to the fake Cordial. */
export function writeConfig(options: {
  dir: string;
  dbPath: string;
  fake: FakeCordial;
  /** A PostgreSQL store in this schema (its URL in PG_URL) instead of the SQLite file. */
  postgresSchema?: string;
}): string {
  const file = join(
    options.dir,
    options.postgresSchema ? `handoff-${options.postgresSchema}.yaml` : 'handoff.yaml',
  );
  writeFileSync(
    file,
    stringify({
      storage: options.postgresSchema
        ? { postgres: { url: { env: 'PG_URL' }, schema: options.postgresSchema } }
        : { sqlite: { path: options.dbPath } },
      sources: [{ id: 'files', writeKey: { env: 'FILES_KEY' } }],
      destinations: {
        cordial: { baseUrl: options.fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 500 },
      },
      audiences: [
        {
          key: 'viewers_1d',
          name: 'CI | View | 1d',
          purpose: 'test',
          channels: ['email'],
          ttl: '1d',
          condition: { type: 'event', event: 'Product Viewed', within: '1d' },
          destinations: [{ cordial: { list: 'viewers-1d', identifier: 'email' } }],
        },
      ],
    }),
  );
  return file;
}

/** The messageId of an event that left the log with its deleted profile. */
export const FORGOTTEN_ID = 'forgotten "1"';

/**
 * A SQLite store as the app leaves it: events imported and processed (identities, a merge,
 * memberships, changes, wake-ups), synced to Cordial with one dead letter, then the tables the
 * app fills only over time (monitor samples, polls, quarantine…) written directly. Every copied
 * table holds rows, some with awkward text, some rows twice where a table allows it.
 */
export async function buildStore(options: {
  dir: string;
  dbPath: string;
  fake: FakeCordial;
}): Promise<string> {
  const config = writeConfig(options);
  const env = { FILES_KEY: 'k', CORDIAL_KEY: options.fake.apiKey };
  const now = new Date().toISOString();
  const users = ['ann', 'bob', 'cy', 'dee', 'eve'];
  const events = join(options.dir, 'events.jsonl');
  writeFileSync(
    events,
    [
      ...users.flatMap((u) => [
        {
          type: 'track',
          anonymousId: `anon-${u}`,
          event: 'Product Viewed',
          properties: { note: AWKWARD },
          timestamp: now,
        },
        {
          type: 'identify',
          userId: u,
          anonymousId: `anon-${u}`,
          traits: { email: `${u}@example.com`, note: AWKWARD },
          timestamp: now,
        },
        { type: 'track', userId: u, event: 'Product Viewed', timestamp: now },
      ]),
      { type: 'identify', userId: 'zed', traits: { email: 'not an email' }, timestamp: now },
    ]
      .map((m) => JSON.stringify(m))
      .join('\n'),
  );
  const imported = await runCli(config, env, 'import', events);
  assert.equal(imported.code, 0, imported.out + imported.err);
  options.fake.faults.set({
    failNext: [
      { status: 200, body: [{ id: 1, name: 'viewers-1d', enhanced: true }] },
      { status: 422, body: { error: true, errorKey: 'GENERIC_ERROR_KEY', message: 'Key not exist' } },
    ],
  });
  const flushed = await runCli(config, env, 'sync', 'flush');
  assert.equal(flushed.code, 1, `one dead letter: ${flushed.out}${flushed.err}`);

  const db = new Database(options.dbPath);
  const at = Date.now();
  db.exec(`
    INSERT INTO monitor_samples VALUES ('size', 'viewers_1d', 'cordial', ${at}, 0.1), ('size', 'viewers_1d', 'cordial', ${at}, 0.1),
      ('size', 'viewers_1d', 'cordial', ${at + 1}, 1e300), ('match', '', '', ${at}, -2.5);
    INSERT INTO source_polls (audience, at, outcome, members, entered, exited, held, error)
      VALUES ('vip', ${at}, 'applied', 3, 3, 0, 0, NULL), ('vip', ${at + 1}, 'failed', 0, 0, 0, 0, 'timeout');
    INSERT INTO source_holds VALUES ('vip', ${at}, 2, '["p1","p2"]');
    INSERT INTO quarantined_events VALUES (1, 'files', 'm-1', 'track', 'TypeError', 'bug', 'boom\tat x', NULL, ${at}, 3, 1);
    INSERT INTO monitor_alert_state VALUES ('size:viewers_1d', 'fail', ${at});
    INSERT INTO sync_bulk_jobs (destination, list, add_to, token, state, rows, remote_id, status, total_items, completed_items, result, message, attempts, created_at, submitted_at, status_since, ended_at)
      VALUES ('cordial', 'viewers-1d', 1, 'tok-1', 'done', 2, 'job-1', 'Done', 2, 2, '{"updated":2}', ${sqlText(AWKWARD)}, 1, ${at}, ${at}, ${at}, ${at});
    INSERT INTO sync_unmatched VALUES ('cordial', 'viewers_1d', 'p-none', 'no email', ${at});
    INSERT INTO scores VALUES ('c1', 'p-none', 0.30000000000000004), ('c1', 'p-two', 12);
    INSERT INTO merges (from_profile, into_profile, cause, at, event_seq) VALUES ('x', 'y', 'alias', ${at}, 1);
    INSERT INTO invalid_identifiers VALUES ('p-none', 'email', ${sqlText(AWKWARD)}, 'invalid');
    INSERT INTO generated_secrets VALUES ('HANDOFF_ADMIN_TOKEN', ${sqlText(AWKWARD)});
  `);
  // Offsets the log handed out and then lost with a deleted event: the next must continue after them.
  // One of them is kept as the id of a deleted profile's event, which stays a duplicate.
  db.exec(`UPDATE sqlite_sequence SET seq = seq + 5 WHERE name = 'events'`);
  db.exec(`INSERT INTO forgotten_events (seq, source_id, message_id)
    SELECT seq - 2, 'files', ${sqlText(FORGOTTEN_ID)} FROM sqlite_sequence WHERE name = 'events'`);
  db.close();
  return config;
}

const sqlText = (s: string): string => `'${s.replaceAll("'", "''")}'`;
