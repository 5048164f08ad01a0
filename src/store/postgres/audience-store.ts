import type { ProfileState } from '../../audiences/index.ts';
import type { LoggedEvent } from '../../ingest/event.ts';
import type { ChangeCause, MembershipChange, ProfileRecord } from '../../engine/model.ts';
import type { AudienceStore } from '../ports.ts';
import type { EventRow } from '../sqlite/event-log.ts';
import type { Sql } from './database.ts';
import { rowToEvent } from './event-log.ts';

interface ChangeRow {
  seq: number;
  audience: string;
  profile_id: string;
  change: 'enter' | 'exit';
  at: number;
  cause: string;
  version: string;
  held_out: boolean;
}

const toChange = (r: ChangeRow): MembershipChange & { seq: number } => ({
  seq: r.seq,
  audience: r.audience,
  profileId: r.profile_id,
  change: r.change,
  at: r.at,
  cause: JSON.parse(r.cause) as ChangeCause,
  version: r.version,
  heldOut: r.held_out,
});

/** Profiles per replay page: one query reads the whole page's events. */
const REPLAY_PAGE = 500;

type HistoryRow = EventRow & { profile_id: string };

/** Every logged event of these profiles, in offset order. */
const historyOf = (sql: Sql, ids: readonly string[]) => sql<HistoryRow[]>`
  SELECT pe.profile_id, e.seq, e.source_id, e.message_id, e.type, e.user_id, e.anonymous_id, e.name,
         e.ts, e.received_at, e.body
    FROM profile_events pe JOIN events e ON e.seq = pe.seq
   WHERE pe.profile_id = ANY(${ids}::text[])
   ORDER BY e.seq`;

export function postgresAudienceStore(sql: Sql): AudienceStore {
  const load = async (ids: readonly string[]): Promise<Map<string, ProfileRecord>> => {
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
    if (ids.length === 0) return out;
    const list = [...ids];
    const [states, traits, memberships, scores] = await Promise.all([
      sql<{ profile_id: string; state: string; wake_at: number | null }[]>`
        SELECT profile_id, state, wake_at FROM profile_state WHERE profile_id = ANY(${list}::text[])`,
      sql<{ profile_id: string; name: string; value: string; ts: number }[]>`
        SELECT profile_id, name, value, ts FROM traits WHERE profile_id = ANY(${list}::text[])`,
      sql<{ profile_id: string; audience: string; since: number; held_out: boolean }[]>`
        SELECT profile_id, audience, since, held_out FROM memberships WHERE profile_id = ANY(${list}::text[])`,
      sql<{ profile_id: string; condition_id: string; value: number }[]>`
        SELECT profile_id, condition_id, value FROM scores WHERE profile_id = ANY(${list}::text[])`,
    ]);
    for (const r of states) {
      const record = out.get(r.profile_id)!;
      record.state = JSON.parse(r.state) as ProfileState;
      record.stored = { ...record.stored!, state: r.state, wakeAt: r.wake_at };
    }
    for (const t of traits)
      out.get(t.profile_id)!.traits[t.name] = { value: JSON.parse(t.value) as unknown, ts: t.ts };
    for (const m of memberships) {
      out.get(m.profile_id)!.memberships.set(m.audience, {
        audience: m.audience,
        profileId: m.profile_id,
        since: m.since,
        heldOut: m.held_out,
      });
    }
    for (const s of scores) out.get(s.profile_id)!.stored!.scores.set(s.condition_id, s.value);
    return out;
  };

  const ids = (rows: readonly { profile_id: string }[]): string[] => rows.map((r) => r.profile_id);

  return {
    load,
    history: async (profileIds) => {
      if (profileIds.length === 0) return [];
      const rows = await historyOf(sql, profileIds);
      return rows.map(rowToEvent);
    },
    // Keyset pages of live profiles; each page's events in one query, handed out profile by profile.
    async *replay() {
      for (let after = ''; ;) {
        const page = await sql<{ id: string }[]>`
          SELECT id FROM profiles WHERE merged_into IS NULL AND deleted_at IS NULL AND id > ${after}
           ORDER BY id LIMIT ${REPLAY_PAGE}`;
        if (page.length === 0) return;
        const pageIds = page.map((p) => p.id);
        const byProfile = new Map<string, LoggedEvent[]>(pageIds.map((id) => [id, []]));
        for (const row of await historyOf(sql, pageIds)) byProfile.get(row.profile_id)!.push(rowToEvent(row));
        for (const [profileId, events] of byProfile) yield { profileId, events };
        after = pageIds.at(-1)!;
      }
    },
    scoredAtLeast: async (conditionId, value) =>
      ids(await sql`SELECT profile_id FROM scores WHERE condition_id = ${conditionId} AND value >= ${value}`),
    scoredBetween: async (conditionId, low, high) =>
      ids(
        await sql`
          SELECT profile_id FROM scores WHERE condition_id = ${conditionId} AND value BETWEEN ${low} AND ${high}`,
      ),
    membersOfAny: async (audiences) =>
      audiences.length === 0
        ? []
        : ids(
            await sql`
              SELECT DISTINCT profile_id FROM memberships WHERE audience = ANY(${[...audiences]}::text[])`,
          ),
    appliedVersions: async () =>
      new Map(
        (
          await sql<{ audience: string; version: string }[]>`SELECT audience, version FROM audience_versions`
        ).map((r) => [r.audience, r.version]),
      ),
    recordVersions: async (versions, at) => {
      const entries = [...versions];
      await sql.begin(async (tx) => {
        await tx`DELETE FROM audience_versions`;
        if (entries.length > 0) {
          await tx`
            INSERT INTO audience_versions (audience, version, applied_at)
            SELECT a, v, ${at}::bigint FROM unnest(${entries.map((e) => e[0])}::text[],
                                                   ${entries.map((e) => e[1])}::text[]) AS r(a, v)`;
        }
      });
    },
    profileCount: async () => {
      const [row] = await sql<{ n: number }[]>`
        SELECT count(*)::bigint AS n FROM profiles WHERE merged_into IS NULL AND deleted_at IS NULL`;
      return row?.n ?? 0;
    },
    due: async (now, limit) =>
      ids(
        await sql`
          SELECT profile_id FROM profile_state WHERE wake_at IS NOT NULL AND wake_at <= ${now}
           ORDER BY wake_at, profile_id COLLATE "C" LIMIT ${limit}`,
      ),
    nextWakeAt: async () => {
      const [row] = await sql<{ wake_at: number | null }[]>`
        SELECT min(wake_at) AS wake_at FROM profile_state WHERE wake_at IS NOT NULL`;
      return row?.wake_at ?? null;
    },
    members: async (audience) =>
      (
        await sql<{ profile_id: string; since: number; held_out: boolean }[]>`
          SELECT profile_id, since, held_out FROM memberships WHERE audience = ${audience}
           ORDER BY since, profile_id COLLATE "C"`
      ).map((m) => ({ audience, profileId: m.profile_id, since: m.since, heldOut: m.held_out })),
    changesAfter: async (seq, limit) =>
      (await sql<ChangeRow[]>`SELECT * FROM changes WHERE seq > ${seq} ORDER BY seq LIMIT ${limit}`).map(
        toChange,
      ),
    changesOf: async (profileId) =>
      (await sql<ChangeRow[]>`SELECT * FROM changes WHERE profile_id = ${profileId} ORDER BY seq`).map(
        toChange,
      ),
    threshold: async (conditionId, percent) => {
      const [count] = await sql<{ n: number }[]>`
        SELECT count(*)::bigint AS n FROM scores WHERE condition_id = ${conditionId}`;
      const n = count?.n ?? 0;
      if (n === 0) return undefined;
      const rank = Math.max(1, Math.ceil((n * percent) / 100));
      const [row] = await sql<{ value: number }[]>`
        SELECT value FROM scores WHERE condition_id = ${conditionId} ORDER BY value DESC LIMIT 1 OFFSET ${rank - 1}`;
      return row?.value;
    },
  };
}
