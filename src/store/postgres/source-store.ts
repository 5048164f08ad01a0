import type { HeldRemoval, PollRecord, SourceStore } from '../../sources/ports.ts';
import type { Sql } from './database.ts';

interface PollRow {
  audience: string;
  at: number;
  outcome: PollRecord['outcome'];
  members: number;
  entered: number;
  exited: number;
  held: number;
  error: string | null;
}

const toPoll = (r: PollRow): PollRecord => ({
  audience: r.audience,
  at: r.at,
  outcome: r.outcome,
  members: r.members,
  entered: r.entered,
  exited: r.exited,
  held: r.held,
  error: r.error ?? undefined,
});

interface HeldRow {
  audience: string;
  at: number;
  size: number;
  profile_ids: string;
}

const toHeld = (r: HeldRow): HeldRemoval => ({
  audience: r.audience,
  at: r.at,
  size: r.size,
  profileIds: JSON.parse(r.profile_ids) as string[],
});

/** Each source poll's outcome, and removals held back until an operator confirms them. */
export function postgresSourceStore(sql: Sql): SourceStore {
  return {
    recordPoll: async (p) => {
      await sql`
        INSERT INTO source_polls (audience, at, outcome, members, entered, exited, held, error)
        VALUES (${p.audience}, ${p.at}, ${p.outcome}, ${p.members}, ${p.entered}, ${p.exited}, ${p.held}, ${p.error ?? null})`;
    },
    lastPolls: async () =>
      (
        await sql<PollRow[]>`
          SELECT DISTINCT ON (audience) audience, at, outcome, members, entered, exited, held, error
          FROM source_polls ORDER BY audience, id DESC`
      ).map(toPoll),
    polls: async (audience, since) =>
      (
        await sql<PollRow[]>`
          SELECT audience, at, outcome, members, entered, exited, held, error FROM source_polls
          WHERE audience = ${audience} AND at >= ${since} ORDER BY id`
      ).map(toPoll),
    hold: async (r) => {
      await sql`
        INSERT INTO source_holds (audience, at, size, profile_ids)
        VALUES (${r.audience}, ${r.at}, ${r.size}, ${JSON.stringify(r.profileIds)})
        ON CONFLICT (audience) DO UPDATE SET at = excluded.at, size = excluded.size, profile_ids = excluded.profile_ids`;
    },
    held: async (audience) => {
      const [row] = await sql<HeldRow[]>`SELECT * FROM source_holds WHERE audience = ${audience}`;
      return row && toHeld(row);
    },
    allHeld: async () => (await sql<HeldRow[]>`SELECT * FROM source_holds ORDER BY audience`).map(toHeld),
    release: async (audience) => {
      await sql`DELETE FROM source_holds WHERE audience = ${audience}`;
    },
  };
}
