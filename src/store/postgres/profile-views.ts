import type { Identifier, IdentifierKind, MergeCause, ProfileView } from '../../identity/model.ts';
import type { IdentityStore } from '../ports.ts';
import type { Sql } from './database.ts';

/** How many merges a lookup follows before it gives up (a chain is one hop per merge). */
const MAX_HOPS = 100;

/**
 * `identity.getProfiles`: many profiles as `getProfile` reads each (following merges; deleted
 * ones absent), in two round trips whatever their number, from one snapshot of the database.
 */
export function postgresProfileViews(sql: Sql): Required<Pick<IdentityStore, 'getProfiles'>> {
  return {
    getProfiles: async (ids) => {
      const views = new Map<string, ProfileView>();
      if (ids.length === 0) return views;
      return sql.begin('isolation level repeatable read read only', async (tx) => {
        const found = await tx<{ asked: string; id: string; created_at: number }[]>`
          WITH RECURSIVE walk (asked, id, merged_into, deleted_at, created_at, hops) AS (
            SELECT id, id, merged_into, deleted_at, created_at, 0 FROM profiles WHERE id = ANY(${[...ids]}::text[])
            UNION ALL
            SELECT w.asked, p.id, p.merged_into, p.deleted_at, p.created_at, w.hops + 1
            FROM walk w JOIN profiles p ON p.id = w.merged_into WHERE w.hops < ${MAX_HOPS})
          SELECT asked, id, created_at FROM walk WHERE merged_into IS NULL AND deleted_at IS NULL`;
        const live = [...new Set(found.map((f) => f.id))];
        if (live.length === 0) return views;
        const [identifiers, traits, invalid, merges] = await Promise.all([
          tx<{ profile_id: string; kind: IdentifierKind; value: string; address: string | null }[]>`
            SELECT profile_id, kind, value, address FROM identifiers WHERE profile_id = ANY(${live}::text[])
            ORDER BY profile_id, first_seen, kind, value`,
          tx<{ profile_id: string; name: string; value: string; ts: number }[]>`
            SELECT profile_id, name, value, ts FROM traits WHERE profile_id = ANY(${live}::text[]) ORDER BY profile_id, name`,
          tx<{ profile_id: string; kind: 'email' | 'phone'; n: number }[]>`
            SELECT profile_id, kind, count(*)::integer AS n FROM invalid_identifiers
            WHERE profile_id = ANY(${live}::text[]) GROUP BY profile_id, kind`,
          // A survivor's history includes the merges into profiles it absorbed later (A into B, B into C).
          tx<
            { survivor: string; from_profile: string; into_profile: string; cause: MergeCause; at: number }[]
          >`
            SELECT s.survivor, m.from_profile, m.into_profile, m.cause, m.at FROM merges m
            JOIN (SELECT id AS profile, id AS survivor FROM unnest(${live}::text[]) AS id
                  UNION ALL
                  SELECT id, merged_into FROM profiles WHERE merged_into = ANY(${live}::text[])) s
              ON m.into_profile = s.profile
            ORDER BY m.id`,
        ]);
        const byId = new Map<string, ProfileView>();
        for (const f of found) {
          let view = byId.get(f.id);
          if (!view) {
            view = {
              id: f.id,
              createdAt: f.created_at,
              identifiers: [],
              traits: {},
              merges: [],
              invalid: { email: 0, phone: 0 },
            };
            byId.set(f.id, view);
          }
          views.set(f.asked, view);
        }
        for (const r of identifiers) {
          const identifier: Identifier =
            r.address === null
              ? { kind: r.kind, value: r.value }
              : { kind: r.kind, value: r.value, address: r.address };
          byId.get(r.profile_id)!.identifiers.push(identifier);
        }
        for (const t of traits)
          byId.get(t.profile_id)!.traits[t.name] = {
            value: JSON.parse(t.value) as unknown,
            ts: t.ts,
          };
        for (const r of invalid) byId.get(r.profile_id)!.invalid[r.kind] = r.n;
        for (const m of merges)
          byId
            .get(m.survivor)!
            .merges.push({ from: m.from_profile, into: m.into_profile, cause: m.cause, at: m.at });
        return views;
      });
    },
  };
}
