import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import postgres from 'postgres';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { runCli } from './cli.ts';
import { FORGOTTEN_ID, writeConfig } from './store-fixture.ts';

/** Where a copy went: a PostgreSQL schema, or a new SQLite file. */
export type CopyTarget = { schema: string; url: string } | { path: string };

/** The outbox offsets of a copy, in order. */
async function changeOffsets(target: CopyTarget): Promise<number[]> {
  if ('path' in target) {
    const db = new Database(target.path, { readonly: true });
    const seqs = db.prepare('SELECT seq FROM changes ORDER BY seq').pluck().all() as number[];
    db.close();
    return seqs;
  }
  const sql = postgres(target.url, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: target.schema },
  });
  try {
    return (await sql<{ seq: string }[]>`SELECT seq::text AS seq FROM changes ORDER BY seq`).map((r) =>
      Number(r.seq),
    );
  } finally {
    await sql.end();
  }
}

/** Requests to Cordial after the first `from` that change something (list lookups are GETs). */
const updatesSince = (fake: FakeCordial, from: number): number =>
  fake.requests.filter((r, i) => i >= from && r.method !== 'GET').length;

/**
 * After `handoff store copy`, the app on the copy carries on where the original stopped: a sync
 * flush sends nothing Cordial was already told (the ledger came along), and a new event makes
 * exactly one change, at the next outbox offset, sent once.
 * A client's retry of an event that left the log with its deleted profile is still a duplicate.
 */
export async function carriesOnAfterCopy(options: {
  dir: string;
  /** The SQLite store the copy came from (buildStore's), synced to `fake`. */
  dbPath: string;
  target: CopyTarget;
  fake: FakeCordial;
}): Promise<void> {
  const { target, fake } = options;
  const config = writeConfig({
    dir: options.dir,
    fake,
    ...('path' in target
      ? { dbPath: target.path, name: 'handoff-copy.yaml' }
      : { dbPath: options.dbPath, postgresSchema: target.schema, name: `handoff-${target.schema}.yaml` }),
  });
  const env = { FILES_KEY: 'k', CORDIAL_KEY: fake.apiKey, PG_URL: 'url' in target ? target.url : '' };
  const lite = new Database(options.dbPath, { readonly: true });
  const changesBefore = lite.prepare('SELECT count(*) FROM changes').pluck().get() as number;
  const lastChange = lite
    .prepare("SELECT seq FROM sqlite_sequence WHERE name = 'changes'")
    .pluck()
    .get() as number;
  lite.close();

  const requests = fake.requests.length;
  const flushed = await runCli(config, env, 'sync', 'flush');
  assert.match(flushed.out, /^0 contact update\(s\) sent/m, flushed.out + flushed.err);
  assert.equal(updatesSince(fake, requests), 0, 'nothing is sent again');

  const events = join(options.dir, 'after-copy.jsonl');
  const now = new Date().toISOString();
  writeFileSync(
    events,
    [
      { type: 'identify', userId: 'fay', traits: { email: 'fay@example.com' }, timestamp: now },
      { type: 'track', userId: 'fay', event: 'Product Viewed', timestamp: now },
      // A client's retry of a deleted profile's event: still a duplicate on the copy.
      { type: 'track', userId: 'gone', event: 'Product Viewed', messageId: FORGOTTEN_ID, timestamp: now },
    ]
      .map((m) => JSON.stringify(m))
      .join('\n'),
  );
  const imported = await runCli(config, env, 'import', events);
  assert.equal(imported.code, 0, imported.out + imported.err);
  assert.match(imported.out, /3 accepted \(2 new, 1 duplicates\)/, imported.out);
  const changes = await changeOffsets(target);
  assert.equal(changes.length, changesBefore + 1, 'one new change, none repeated');
  assert.equal(changes.at(-1), lastChange + 1, 'at the next outbox offset');

  const sent = fake.requests.length;
  const second = await runCli(config, env, 'sync', 'flush');
  assert.match(second.out, /^1 contact update\(s\) sent/m, second.out + second.err);
  assert.ok(fake.listMembers('viewers-1d').includes('fay@example.com'));
  // Fay's contact (and the list, which the fixture's faked lookup never made): no one else's.
  const contacts = fake.requests
    .slice(sent)
    .filter((r) => r.method !== 'GET' && r.path.startsWith('/v2/contacts'))
    .map((r) => `${decodeURIComponent(r.path)} ${JSON.stringify(r.body)}`);
  assert.ok(contacts.length > 0, 'fay was sent');
  for (const c of contacts) assert.match(c, /fay@example\.com/, "only fay's contact is sent");
}
