import type { HeldRemoval, PollRecord, SourceStore } from '../../sources/ports.ts';
import type { SqliteDatabase } from './database.ts';
import { settle } from './database.ts';

interface PollRow {
  id: number;
  audience: string;
  at: number;
  outcome: PollRecord['outcome'];
  members: number;
  entered: number;
  exited: number;
  held: number;
  error: string | null;
}

// The row's id orders polls; it is no part of the record.
const toPoll = ({ id: _, ...r }: PollRow): PollRecord => ({ ...r, error: r.error ?? undefined });

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

export function sqliteSourceStore(db: SqliteDatabase): SourceStore {
  const insertPoll = db.prepare(
    `INSERT INTO source_polls (audience, at, outcome, members, entered, exited, held, error)
     VALUES (@audience, @at, @outcome, @members, @entered, @exited, @held, @error)`,
  );
  const lastPolls = db.prepare<[], PollRow>(
    `SELECT p.* FROM source_polls p
     WHERE p.id = (SELECT max(id) FROM source_polls q WHERE q.audience = p.audience)
     ORDER BY p.audience`,
  );
  const polls = db.prepare<[string, number], PollRow>(
    'SELECT * FROM source_polls WHERE audience = ? AND at >= ? ORDER BY id',
  );
  const hold = db.prepare(
    `INSERT INTO source_holds (audience, at, size, profile_ids) VALUES (?, ?, ?, ?)
     ON CONFLICT (audience) DO UPDATE SET at = excluded.at, size = excluded.size, profile_ids = excluded.profile_ids`,
  );
  const held = db.prepare<[string], HeldRow>('SELECT * FROM source_holds WHERE audience = ?');
  const allHeld = db.prepare<[], HeldRow>('SELECT * FROM source_holds ORDER BY audience');
  const release = db.prepare('DELETE FROM source_holds WHERE audience = ?');
  return {
    recordPoll: (p) => settle(() => void insertPoll.run({ ...p, error: p.error ?? null })),
    lastPolls: () => settle(() => lastPolls.all().map(toPoll)),
    polls: (audience, since) => settle(() => polls.all(audience, since).map(toPoll)),
    hold: (r) => settle(() => void hold.run(r.audience, r.at, r.size, JSON.stringify(r.profileIds))),
    held: (audience) =>
      settle(() => {
        const row = held.get(audience);
        return row && toHeld(row);
      }),
    allHeld: () => settle(() => allHeld.all().map(toHeld)),
    release: (audience) => settle(() => void release.run(audience)),
  };
}
