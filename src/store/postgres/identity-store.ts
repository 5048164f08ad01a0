import type {
  Identifier,
  IdentifierKind,
  IdentitySnapshot,
  MergeCause,
  ProfileIdentities,
  ProfileView,
  TraitValue,
} from '../../identity/model.ts';
import { emptyWrites } from '../../engine/model.ts';
import type { BatchCommit, IdentityStore } from '../ports.ts';
import type { Sql } from './database.ts';

interface IdentifierRow {
  kind: IdentifierKind;
  value: string;
  address: string | null;
}

const toIdentifier = (r: IdentifierRow): Identifier =>
  r.address === null
    ? { kind: r.kind, value: r.value }
    : { kind: r.kind, value: r.value, address: r.address };

/** Profiles, identifiers and traits as the processor committed them; writes go through `commit`. */
export function postgresIdentityStore(
  sql: Sql,
  commitBatch: (batch: BatchCommit) => Promise<void>,
): IdentityStore {
  /** Every profile owning one of the keys, with all its identifiers: one statement. */
  const snapshot = async (
    keys: readonly { kind: IdentifierKind; value: string }[],
  ): Promise<IdentitySnapshot> => {
    if (keys.length === 0) return { profiles: [] };
    const rows = await sql<(IdentifierRow & { id: string; created_at: number })[]>`
      SELECT p.id, p.created_at, i.kind, i.value, i.address
        FROM profiles p JOIN identifiers i ON i.profile_id = p.id
       WHERE p.id IN (SELECT o.profile_id FROM identifiers o
                       WHERE (o.kind, o.value) IN (SELECT * FROM unnest(${keys.map((k) => k.kind)}::text[],
                                                                         ${keys.map((k) => k.value)}::text[])))
       ORDER BY p.id, i.first_seen, i.kind, i.value`;
    const profiles = new Map<string, ProfileIdentities>();
    for (const r of rows) {
      let profile = profiles.get(r.id);
      if (!profile) profiles.set(r.id, (profile = { id: r.id, createdAt: r.created_at, identifiers: [] }));
      profile.identifiers.push(toIdentifier(r));
    }
    return { profiles: [...profiles.values()] };
  };

  const view = async (id: string): Promise<ProfileView | undefined> => {
    type ProfileRow = {
      id: string;
      created_at: number;
      merged_into: string | null;
      deleted_at: number | null;
    };
    const profile = async (pid: string): Promise<ProfileRow | undefined> =>
      (
        await sql<
          ProfileRow[]
        >`SELECT id, created_at, merged_into, deleted_at FROM profiles WHERE id = ${pid}`
      )[0];
    let row = await profile(id);
    for (let hops = 0; row?.merged_into && hops < 100; hops++) row = await profile(row.merged_into);
    if (!row || row.deleted_at !== null || row.merged_into) return undefined;
    const pid = row.id;
    const [identifiers, traitRows, invalidRows, merges] = await Promise.all([
      sql<IdentifierRow[]>`
        SELECT kind, value, address FROM identifiers WHERE profile_id = ${pid} ORDER BY first_seen, kind, value`,
      sql<{ name: string; value: string; ts: number }[]>`
        SELECT name, value, ts FROM traits WHERE profile_id = ${pid} ORDER BY name`,
      sql<{ kind: 'email' | 'phone'; n: number }[]>`
        SELECT kind, count(*)::bigint AS n FROM invalid_identifiers WHERE profile_id = ${pid} GROUP BY kind`,
      // A survivor's history includes the merges into profiles it absorbed later (A into B, B into C).
      sql<{ from_profile: string; into_profile: string; cause: MergeCause; at: number }[]>`
        SELECT from_profile, into_profile, cause, at FROM merges
         WHERE into_profile = ${pid} OR into_profile IN (SELECT id FROM profiles WHERE merged_into = ${pid})
         ORDER BY id`,
    ]);
    const traits: Record<string, TraitValue> = {};
    for (const t of traitRows) traits[t.name] = { value: JSON.parse(t.value), ts: t.ts };
    const invalid = { email: 0, phone: 0 };
    for (const r of invalidRows) invalid[r.kind] = r.n;
    return {
      id: pid,
      createdAt: row.created_at,
      identifiers: identifiers.map(toIdentifier),
      traits,
      merges: merges.map((m) => ({ from: m.from_profile, into: m.into_profile, cause: m.cause, at: m.at })),
      invalid,
    };
  };

  return {
    snapshot,
    commit: (ops, cursorName, from, to) =>
      commitBatch({ identity: ops, cursor: { name: cursorName, from, to }, audiences: emptyWrites() }),
    findProfile: async (key) => {
      const [owner] = await sql<{ profile_id: string }[]>`
        SELECT profile_id FROM identifiers WHERE kind = ${key.kind} AND value = ${key.value}`;
      return owner ? view(owner.profile_id) : undefined;
    },
    getProfile: (id) => view(id),
  };
}
