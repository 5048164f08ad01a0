import type { BatchCommit, Cursors } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { applyAudiences } from './audience-writer.ts';
import type { Sql } from './database.ts';
import { Pipeline } from './database.ts';
import { applyIdentity } from './identity-writer.ts';
import { applyQuarantine } from './quarantine-store.ts';
import type { Announcement } from './signals.ts';

/** Durable positions of the log's readers, 0 until first moved. */
export function postgresCursors(sql: Sql): Cursors {
  return {
    get: async (name) => {
      const [row] = await sql<{ position: number }[]>`SELECT position FROM cursors WHERE name = ${name}`;
      return row?.position ?? 0;
    },
  };
}

/**
 * Applies a BatchCommit in one transaction: cursors and guards checked (and locked, so a second
 * committer waits and then finds them moved), then the quarantine, identity and audience writes,
 * then the cursors moved. Every statement is sent at once (a pipeline): the checks are made on
 * their answers, and a cursor not at its `from` throws CursorMovedError, which rolls it all back.
 * A commit that records changes announces `changes` in the same pipeline (delivered at COMMIT).
 */
export function postgresCommit(sql: Sql, announcement: Announcement): (batch: BatchCommit) => Promise<void> {
  const changes = announcement('changes');
  return async (batch) => {
    const cursors = [batch.cursor, ...(batch.guards ?? [])].filter((c) => c !== undefined);
    await sql.begin(async (tx) => {
      const p = new Pipeline(tx);
      let positions: Promise<{ name: string; position: number }[]> | undefined;
      if (cursors.length > 0) {
        const names = [...new Set(cursors.map((c) => c.name))];
        p.send(tx`
          INSERT INTO cursors (name, position) SELECT n, 0 FROM unnest(${names}::text[]) AS n
          ON CONFLICT (name) DO NOTHING`);
        positions = p.answer(tx<{ name: string; position: number }[]>`
          SELECT name, position FROM cursors WHERE name = ANY(${names}::text[]) FOR UPDATE`);
      }
      const claimed = applyQuarantine(p, batch.quarantine);
      applyIdentity(p, batch.identity);
      applyAudiences(p, batch.audiences);
      if (batch.audiences.changes.length > 0)
        p.send(tx`SELECT pg_notify(${changes.channel}, ${changes.payload})`);
      const moved = cursors.filter((c) => c.to !== c.from);
      if (moved.length > 0) {
        p.send(tx`
          UPDATE cursors c SET position = m.position
            FROM unnest(${moved.map((m) => m.name)}::text[], ${moved.map((m) => m.to)}::bigint[])
                 AS m(name, position)
           WHERE c.name = m.name`);
      }
      // The cursors first: a commit that lost the race reports that, not what its writes then hit.
      if (positions) {
        const at = new Map((await positions.catch(() => [])).map((r) => [r.name, r.position]));
        for (const c of cursors) {
          const actual = at.get(c.name);
          if (actual !== undefined && actual !== c.from) throw new CursorMovedError(c.name, c.from, actual);
        }
      }
      await p.settled();
      await claimed();
    });
  };
}
