import type { ProfileState } from '../../audiences/index.ts';
import type { AudienceWrites, ChangeCause, MembershipChange, ProfileRecord } from '../../engine/model.ts';
import type { AudienceStore } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle, writeTransaction } from './database.ts';
import type { EventRow } from './event-log.ts';
import { EVENTS_OF_PROFILE, toEvent } from './event-log.ts';

interface ChangeRow {
  seq: number;
  audience: string;
  profile_id: string;
  change: 'enter' | 'exit';
  at: number;
  cause: string;
  version: string;
  held_out: number;
}

const toChange = (r: ChangeRow): MembershipChange & { seq: number } => ({
  seq: r.seq,
  audience: r.audience,
  profileId: r.profile_id,
  change: r.change,
  at: r.at,
  cause: JSON.parse(r.cause) as ChangeCause,
  version: r.version,
  heldOut: r.held_out === 1,
});

/** Profiles per load statement: well under SQLite's limits, large enough to amortise each call. */
const LOAD_CHUNK = 5000;

export function sqliteAudienceStore(db: SqliteDatabase): AudienceStore {
  const clearVersions = db.prepare('DELETE FROM audience_versions');
  const insertVersion = db.prepare(
    'INSERT INTO audience_versions (audience, version, applied_at) VALUES (?, ?, ?)',
  );
  const recordVersions = writeTransaction(db, (versions: ReadonlyMap<string, string>, at: number) => {
    clearVersions.run();
    for (const [audience, version] of versions) insertVersion.run(audience, version, at);
  });
  const q = {
    // A whole batch's profiles per statement: ids go in as one JSON array.
    states: db.prepare<[string], { profile_id: string; state: string; wake_at: number | null }>(
      'SELECT profile_id, state, wake_at FROM profile_state WHERE profile_id IN (SELECT value FROM json_each(?))',
    ),
    traits: db.prepare<[string], { profile_id: string; name: string; value: string; ts: number }>(
      'SELECT profile_id, name, value, ts FROM traits WHERE profile_id IN (SELECT value FROM json_each(?))',
    ),
    memberships: db.prepare<
      [string],
      { profile_id: string; audience: string; since: number; held_out: number }
    >(
      'SELECT profile_id, audience, since, held_out FROM memberships WHERE profile_id IN (SELECT value FROM json_each(?))',
    ),
    scores: db.prepare<[string], { profile_id: string; condition_id: string; value: number }>(
      'SELECT profile_id, condition_id, value FROM scores WHERE profile_id IN (SELECT value FROM json_each(?))',
    ),
    history: db.prepare<[string], EventRow>(`SELECT e.* FROM ${EVENTS_OF_PROFILE} ORDER BY e.seq`),
    // Paged by profile id: better-sqlite3 allows no other statement while an iterator is open,
    // and a backfill writes between pages.
    replayIds: db.prepare<[string, number], { profile_id: string }>(
      'SELECT id AS profile_id FROM profiles WHERE merged_into IS NULL AND deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?',
    ),
    scoredAtLeast: db.prepare<[string, number], { profile_id: string }>(
      'SELECT profile_id FROM scores WHERE condition_id = ? AND value >= ?',
    ),
    scoredBetween: db.prepare<[string, number, number], { profile_id: string }>(
      'SELECT profile_id FROM scores WHERE condition_id = ? AND value BETWEEN ? AND ?',
    ),
    versions: db.prepare<[], { audience: string; version: string }>(
      'SELECT audience, version FROM audience_versions',
    ),
    profiles: db.prepare<[], { n: number }>(
      'SELECT count(*) AS n FROM profiles WHERE merged_into IS NULL AND deleted_at IS NULL',
    ),
    due: db.prepare<[number, number], { profile_id: string }>(
      'SELECT profile_id FROM profile_state WHERE wake_at IS NOT NULL AND wake_at <= ? ORDER BY wake_at, profile_id LIMIT ?',
    ),
    next: db.prepare<[], { wake_at: number | null }>(
      'SELECT min(wake_at) AS wake_at FROM profile_state WHERE wake_at IS NOT NULL',
    ),
    members: db.prepare<[string], { profile_id: string; since: number; held_out: number }>(
      'SELECT profile_id, since, held_out FROM memberships WHERE audience = ? ORDER BY since, profile_id',
    ),
    changesAfter: db.prepare<[number, number], ChangeRow>(
      'SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?',
    ),
    changesOf: db.prepare<[string], ChangeRow>('SELECT * FROM changes WHERE profile_id = ? ORDER BY seq'),
    scored: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM scores WHERE condition_id = ?'),
    nth: db.prepare<[string, number], { value: number }>(
      'SELECT value FROM scores WHERE condition_id = ? ORDER BY value DESC LIMIT 1 OFFSET ?',
    ),
  };

  return {
    load: (ids) =>
      settle(() => {
        const out = new Map<string, ProfileRecord>();
        for (const profileId of ids) {
          out.set(profileId, {
            profileId,
            state: undefined,
            traits: {},
            memberships: new Map(),
            stored: { state: undefined, wakeAt: null, scores: new Map() },
          });
        }
        for (let i = 0; i < ids.length; i += LOAD_CHUNK) {
          const chunk = JSON.stringify(ids.slice(i, i + LOAD_CHUNK));
          for (const r of q.states.all(chunk)) {
            const record = out.get(r.profile_id)!;
            record.state = JSON.parse(r.state) as ProfileState;
            record.stored = { ...record.stored!, state: r.state, wakeAt: r.wake_at };
          }
          for (const t of q.traits.all(chunk))
            out.get(t.profile_id)!.traits[t.name] = { value: JSON.parse(t.value) as unknown, ts: t.ts };
          for (const m of q.memberships.all(chunk)) {
            out.get(m.profile_id)!.memberships.set(m.audience, {
              audience: m.audience,
              profileId: m.profile_id,
              since: m.since,
              heldOut: m.held_out === 1,
            });
          }
          for (const s of q.scores.all(chunk))
            out.get(s.profile_id)!.stored!.scores.set(s.condition_id, s.value);
        }
        return out;
      }),
    history: (ids) =>
      settle(() =>
        ids
          .flatMap((id) => q.history.all(id))
          .sort((a, b) => a.seq - b.seq)
          .map(toEvent),
      ),
    async *replay() {
      for (let after = ''; ;) {
        const page = q.replayIds.all(after, 500);
        if (page.length === 0) return;
        for (const { profile_id } of page) {
          yield { profileId: profile_id, events: q.history.all(profile_id).map(toEvent) };
        }
        after = page.at(-1)!.profile_id;
        await Promise.resolve();
      }
    },
    scoredAtLeast: (conditionId, value) =>
      settle(() => q.scoredAtLeast.all(conditionId, value).map((r) => r.profile_id)),
    scoredBetween: (conditionId, low, high) =>
      settle(() => q.scoredBetween.all(conditionId, low, high).map((r) => r.profile_id)),
    membersOfAny: (audiences) =>
      settle(() => {
        const ids = new Set<string>();
        for (const a of audiences) for (const m of q.members.all(a)) ids.add(m.profile_id);
        return [...ids];
      }),
    appliedVersions: () => settle(() => new Map(q.versions.all().map((r) => [r.audience, r.version]))),
    recordVersions: (versions, at) => settle(() => recordVersions(versions, at)),
    profileCount: () => settle(() => q.profiles.get()?.n ?? 0),
    due: (now, limit) => settle(() => q.due.all(now, limit).map((r) => r.profile_id)),
    nextWakeAt: () => settle(() => q.next.get()?.wake_at ?? null),
    members: (audience) =>
      settle(() =>
        q.members
          .all(audience)
          .map((m) => ({ audience, profileId: m.profile_id, since: m.since, heldOut: m.held_out === 1 })),
      ),
    changesAfter: (seq, limit) => settle(() => q.changesAfter.all(seq, limit).map(toChange)),
    changesOf: (profileId) => settle(() => q.changesOf.all(profileId).map(toChange)),
    threshold: (conditionId, percent) =>
      settle(() => {
        const n = q.scored.get(conditionId)?.n ?? 0;
        if (n === 0) return undefined;
        const rank = Math.max(1, Math.ceil((n * percent) / 100));
        return q.nth.get(conditionId, rank - 1)?.value;
      }),
  };
}

const sortedBy = <T>(rows: readonly T[], key: (row: T) => string): readonly T[] => {
  if (rows.length < 2) return rows;
  const keyed = rows.map((row) => ({ row, key: key(row) }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.row);
};

/** Applies a batch's audience results inside the caller's transaction. */
export function audienceWriter(db: SqliteDatabase): (writes: AudienceWrites) => void {
  const w = {
    state: db.prepare(
      `INSERT INTO profile_state (profile_id, state, wake_at) VALUES (?, ?, ?)
       ON CONFLICT (profile_id) DO UPDATE SET state = excluded.state, wake_at = excluded.wake_at`,
    ),
    enter: db.prepare(
      'INSERT OR REPLACE INTO memberships (audience, profile_id, since, held_out) VALUES (?, ?, ?, ?)',
    ),
    exit: db.prepare('DELETE FROM memberships WHERE audience = ? AND profile_id = ?'),
    change: db.prepare(
      'INSERT INTO changes (audience, profile_id, change, at, cause, version, held_out) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    score: db.prepare(
      `INSERT INTO scores (condition_id, profile_id, value) VALUES (?, ?, ?)
       ON CONFLICT (condition_id, profile_id) DO UPDATE SET value = excluded.value`,
    ),
    unscore: db.prepare('DELETE FROM scores WHERE condition_id = ? AND profile_id = ?'),
    dropState: db.prepare('DELETE FROM profile_state WHERE profile_id = ?'),
    dropMemberships: db.prepare('DELETE FROM memberships WHERE profile_id = ?'),
    dropScores: db.prepare('DELETE FROM scores WHERE profile_id = ?'),
  };
  return (writes) => {
    for (const id of writes.dropped) {
      w.dropState.run(id);
      w.dropMemberships.run(id);
      w.dropScores.run(id);
    }
    // Rows in key order: consecutive writes land on the same pages, so a large batch reads and
    // dirties each page once rather than once per profile.
    for (const s of sortedBy(writes.states, (s) => s.profileId))
      w.state.run(s.profileId, s.text ?? JSON.stringify(s.state), s.wakeAt);
    for (const m of sortedBy(writes.exited, (m) => `${m.audience}\u0000${m.profileId}`))
      w.exit.run(m.audience, m.profileId);
    for (const m of sortedBy(writes.entered, (m) => `${m.audience}\u0000${m.profileId}`))
      w.enter.run(m.audience, m.profileId, m.since, m.heldOut ? 1 : 0);
    for (const c of writes.changes) {
      w.change.run(
        c.audience,
        c.profileId,
        c.change,
        c.at,
        JSON.stringify(c.cause),
        c.version,
        c.heldOut ? 1 : 0,
      );
    }
    for (const s of sortedBy(writes.scores, (s) => `${s.conditionId}\u0000${s.profileId}`)) {
      if (s.value === undefined) w.unscore.run(s.conditionId, s.profileId);
      else w.score.run(s.conditionId, s.profileId, s.value);
    }
  };
}
