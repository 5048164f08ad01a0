import type {
  Identifier,
  IdentifierKey,
  IdentifierKind,
  IdentitySnapshot,
  IdentityOp,
  MergeCause,
  ProfileIdentities,
  ProfileView,
  TraitValue,
} from '../../identity/model.ts';
import { assertNever } from '../../shared/result.ts';
import { emptyWrites } from '../../engine/model.ts';
import type { BatchCommit, IdentityStore } from '../ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';

/** Values per lookup statement, as JSON arrays: large enough to amortise each call. */
const CHUNK = 5000;

function* chunks(values: readonly string[]): Generator<string> {
  for (let i = 0; i < values.length; i += CHUNK) yield JSON.stringify(values.slice(i, i + CHUNK));
}

interface IdentifierRow {
  kind: IdentifierKind;
  value: string;
  address: string | null;
}

export function sqliteIdentityStore(
  db: SqliteDatabase,
  commitBatch: (batch: BatchCommit) => Promise<void>,
): IdentityStore {
  const q = {
    owner: db.prepare<[string, string], { profile_id: string }>(
      'SELECT profile_id FROM identifiers WHERE kind = ? AND value = ?',
    ),
    profile: db.prepare<
      [string],
      { id: string; created_at: number; merged_into: string | null; deleted_at: number | null }
    >('SELECT id, created_at, merged_into, deleted_at FROM profiles WHERE id = ?'),
    identifiers: db.prepare<[string], IdentifierRow>(
      'SELECT kind, value, address FROM identifiers WHERE profile_id = ? ORDER BY first_seen, kind, value',
    ),
    traits: db.prepare<[string], { name: string; value: string; ts: number }>(
      'SELECT name, value, ts FROM traits WHERE profile_id = ? ORDER BY name',
    ),
    // A survivor's history includes the merges into profiles it absorbed later (A into B, B into C).
    merges: db.prepare<
      [string, string],
      { from_profile: string; into_profile: string; cause: MergeCause; at: number }
    >(
      `SELECT from_profile, into_profile, cause, at FROM merges
       WHERE into_profile = ? OR into_profile IN (SELECT id FROM profiles WHERE merged_into = ?) ORDER BY id`,
    ),
    invalid: db.prepare<[string], { kind: 'email' | 'phone'; n: number }>(
      'SELECT kind, count(*) AS n FROM invalid_identifiers WHERE profile_id = ? GROUP BY kind',
    ),
    // A whole batch per statement: values (or ids) go in as one JSON array. Owners repeat (one
    // profile, several of its identifiers); the caller's set removes them, cheaper than DISTINCT.
    ownersOf: db.prepare<[string, string], { profile_id: string }>(
      'SELECT profile_id FROM identifiers WHERE kind = ? AND value IN (SELECT value FROM json_each(?))',
    ),
    profilesOf: db.prepare<[string], { id: string; created_at: number }>(
      'SELECT id, created_at FROM profiles WHERE id IN (SELECT value FROM json_each(?))',
    ),
    identifiersOfAll: db.prepare<[string], IdentifierRow & { profile_id: string }>(
      `SELECT profile_id, kind, value, address FROM identifiers
       WHERE profile_id IN (SELECT value FROM json_each(?)) ORDER BY profile_id, first_seen, kind, value`,
    ),
  };
  const toIdentifier = (r: IdentifierRow): Identifier =>
    r.address === null
      ? { kind: r.kind, value: r.value }
      : { kind: r.kind, value: r.value, address: r.address };
  const identifiersOf = (profileId: string): Identifier[] => q.identifiers.all(profileId).map(toIdentifier);

  /** Every profile owning one of `keys`: one lookup per identifier kind, then two for the profiles found. */
  const snapshot = (keys: readonly IdentifierKey[]): IdentitySnapshot => {
    const valuesByKind = new Map<IdentifierKind, Set<string>>();
    for (const k of keys) {
      let values = valuesByKind.get(k.kind);
      if (!values) valuesByKind.set(k.kind, (values = new Set()));
      values.add(k.value);
    }
    const ids = new Set<string>();
    for (const [kind, values] of valuesByKind) {
      for (const chunk of chunks([...values]))
        for (const r of q.ownersOf.all(kind, chunk)) ids.add(r.profile_id);
    }
    const profiles = new Map<string, ProfileIdentities>();
    for (const chunk of chunks([...ids])) {
      for (const r of q.profilesOf.all(chunk))
        profiles.set(r.id, { id: r.id, createdAt: r.created_at, identifiers: [] });
      for (const r of q.identifiersOfAll.all(chunk))
        profiles.get(r.profile_id)?.identifiers.push(toIdentifier(r));
    }
    return { profiles: [...profiles.values()] };
  };

  const view = (id: string): ProfileView | undefined => {
    let row = q.profile.get(id);
    while (row?.merged_into) row = q.profile.get(row.merged_into);
    if (!row || row.deleted_at !== null) return undefined;
    const traits: Record<string, TraitValue> = {};
    for (const t of q.traits.all(row.id)) traits[t.name] = { value: JSON.parse(t.value), ts: t.ts };
    const invalid = { email: 0, phone: 0 };
    for (const r of q.invalid.all(row.id)) invalid[r.kind] = r.n;
    return {
      id: row.id,
      createdAt: row.created_at,
      identifiers: identifiersOf(row.id),
      traits,
      merges: q.merges
        .all(row.id, row.id)
        .map((m) => ({ from: m.from_profile, into: m.into_profile, cause: m.cause, at: m.at })),
      invalid,
    };
  };

  return {
    snapshot: (keys) => settle(() => snapshot(keys)),
    commit: (ops, cursorName, from, to) =>
      commitBatch({ identity: ops, cursor: { name: cursorName, from, to }, audiences: emptyWrites() }),
    findProfile: (key) =>
      settle(() => {
        const owner = q.owner.get(key.kind, key.value);
        return owner ? view(owner.profile_id) : undefined;
      }),
    getProfile: (id) => settle(() => view(id)),
    getProfiles: (ids) =>
      settle(() => {
        const views = new Map<string, ProfileView>();
        for (const id of ids) {
          const v = view(id);
          if (v) views.set(id, v);
        }
        return views;
      }),
  };
}

/**
 * Applies a batch's identity ops, in order, inside the caller's transaction. A profile's events
 * are recorded as one history row per batch, not one row per event: a merge hands the absorbed
 * profile's unwritten events to the survivor, so it splits no other profile's row.
 */
export function identityWriter(db: SqliteDatabase): (ops: readonly IdentityOp[]) => void {
  const w = {
    // Profiles are numbered in creation order: their history is keyed by that number.
    create: db.prepare(
      'INSERT INTO profiles (id, created_at, num) VALUES (?, ?, (SELECT coalesce(max(num), 0) + 1 FROM profiles))',
    ),
    attach: db.prepare(
      'INSERT INTO identifiers (kind, value, profile_id, address, first_seen) VALUES (?, ?, ?, ?, ?)',
    ),
    trait: db.prepare(
      `INSERT INTO traits (profile_id, name, value, ts) VALUES (?, ?, ?, ?)
       ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value, ts = excluded.ts
       WHERE excluded.ts >= traits.ts`,
    ),
    invalid: db.prepare(
      'INSERT OR IGNORE INTO invalid_identifiers (profile_id, kind, value, reason) VALUES (?, ?, ?, ?)',
    ),
    history: db.prepare<[number, string, string]>(
      'INSERT INTO profile_history (num, seq, seqs) SELECT num, ?, ? FROM profiles WHERE id = ?',
    ),
    mergeIdentifiers: db.prepare('UPDATE identifiers SET profile_id = ? WHERE profile_id = ?'),
    mergeInvalid: db.prepare(
      `INSERT OR IGNORE INTO invalid_identifiers (profile_id, kind, value, reason)
       SELECT ?, kind, value, reason FROM invalid_identifiers WHERE profile_id = ?`,
    ),
    dropInvalid: db.prepare('DELETE FROM invalid_identifiers WHERE profile_id = ?'),
    mergeTraits: db.prepare(
      `INSERT INTO traits (profile_id, name, value, ts) SELECT ?, name, value, ts FROM traits WHERE profile_id = ? AND true
       ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value, ts = excluded.ts WHERE excluded.ts > traits.ts`,
    ),
    dropTraits: db.prepare('DELETE FROM traits WHERE profile_id = ?'),
    mergeEvents: db.prepare(
      `UPDATE profile_history SET num = (SELECT num FROM profiles WHERE id = ?)
       WHERE num = (SELECT num FROM profiles WHERE id = ?)`,
    ),
    retire: db.prepare('UPDATE profiles SET merged_into = ? WHERE id = ? OR merged_into = ?'),
    // Deleting a profile's data includes its events in the log: nothing of it can be replayed.
    // Their ids stay, so a client's retry of one is still a duplicate.
    forgetEvents: db.prepare(
      `INSERT OR IGNORE INTO forgotten_events (seq, source_id, message_id)
       SELECT seq, source_id, message_id FROM events WHERE seq IN (SELECT seq FROM profile_events WHERE profile_id = ?)`,
    ),
    deleteEvents: db.prepare(
      'DELETE FROM events WHERE seq IN (SELECT seq FROM profile_events WHERE profile_id = ?)',
    ),
    deleteData: [
      db.prepare('DELETE FROM profile_history WHERE num = (SELECT num FROM profiles WHERE id = ?)'),
      db.prepare('DELETE FROM identifiers WHERE profile_id = ?'),
      db.prepare('DELETE FROM traits WHERE profile_id = ?'),
      db.prepare('DELETE FROM invalid_identifiers WHERE profile_id = ?'),
    ],
    markDeleted: db.prepare('UPDATE profiles SET deleted_at = ? WHERE id = ?'),
    recordMerge: db.prepare(
      'INSERT INTO merges (from_profile, into_profile, cause, at, event_seq) VALUES (?, ?, ?, ?, ?)',
    ),
  };

  /** Offsets of each profile's events not yet written, oldest first. */
  const pending = new Map<string, number[]>();
  const writeHistory = (profileId: string, offsets: readonly number[]): void => {
    w.history.run(offsets[0]!, JSON.stringify(offsets), profileId);
  };

  const apply = (op: IdentityOp): void => {
    switch (op.op) {
      case 'create':
        w.create.run(op.profileId, op.at);
        return;
      case 'attach':
        w.attach.run(
          op.identifier.kind,
          op.identifier.value,
          op.profileId,
          op.identifier.address ?? null,
          op.at,
        );
        return;
      case 'trait':
        w.trait.run(op.profileId, op.name, JSON.stringify(op.value ?? null), op.ts);
        return;
      case 'invalid':
        w.invalid.run(op.profileId, op.kind, op.value, op.reason);
        return;
      case 'event': {
        const offsets = pending.get(op.profileId);
        if (offsets) offsets.push(op.offset);
        else pending.set(op.profileId, [op.offset]);
        return;
      }
      case 'merge': {
        const absorbed = pending.get(op.from);
        if (absorbed) {
          pending.delete(op.from);
          const own = pending.get(op.into);
          if (own === undefined) pending.set(op.into, absorbed);
          else {
            own.push(...absorbed);
            own.sort((a, b) => a - b);
          }
        }
        w.mergeIdentifiers.run(op.into, op.from);
        w.mergeInvalid.run(op.into, op.from);
        w.dropInvalid.run(op.from);
        w.mergeTraits.run(op.into, op.from);
        w.dropTraits.run(op.from);
        w.mergeEvents.run(op.into, op.from);
        w.retire.run(op.into, op.from, op.from);
        w.recordMerge.run(op.from, op.into, op.cause, op.at, op.offset);
        return;
      }
      case 'delete': {
        // Its events not yet written are in the log all the same: recorded, then deleted with the rest.
        const offsets = pending.get(op.profileId);
        if (offsets) writeHistory(op.profileId, offsets);
        pending.delete(op.profileId);
        w.forgetEvents.run(op.profileId);
        w.deleteEvents.run(op.profileId);
        for (const statement of w.deleteData) statement.run(op.profileId);
        w.markDeleted.run(op.at, op.profileId);
        return;
      }
      default:
        assertNever(op, 'identity op');
    }
  };
  return (ops) => {
    try {
      for (const op of ops) apply(op);
      for (const [profileId, offsets] of pending) writeHistory(profileId, offsets);
    } finally {
      pending.clear();
    }
  };
}
