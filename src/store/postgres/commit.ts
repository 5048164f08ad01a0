import type { BatchCommit, Cursors } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { applyAudiences } from './audience-writer.ts';
import type { Sql } from './database.ts';
import { Pipeline, isFailedCheck } from './database.ts';
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
 * Applies a BatchCommit in one transaction, sent whole in one round trip on a connection of its
 * own: BEGIN; the cursors and guards locked and checked; the quarantine, identity and audience
 * writes; the cursors moved; COMMIT. The checks run on the server: a cursor not at its `from`
 * (or a quarantine claim another processor took) fails its statement, every statement after it
 * fails too, and the COMMIT rolls the transaction back; that is then thrown as CursorMovedError.
 * A second committer waits on the cursor lock and then finds the cursor moved. A commit that
 * records changes announces `changes` in the same transaction (delivered at COMMIT).
 */
export function postgresCommit(sql: Sql, announcement: Announcement): (batch: BatchCommit) => Promise<void> {
  const changes = announcement('changes');
  return async (batch) => {
    const cursors = [batch.cursor, ...(batch.guards ?? [])].filter((c) => c !== undefined);
    const tx = await sql.reserve();
    let ended = false;
    try {
      const p = new Pipeline(tx);
      p.send(tx`BEGIN`);
      let positions: Promise<{ name: string; position: number }[]> | undefined;
      if (cursors.length > 0) {
        const names = [...new Set(cursors.map((c) => c.name))];
        p.send(tx`
          INSERT INTO cursors (name, position) SELECT n, 0 FROM unnest(${names}::text[]) AS n
          ON CONFLICT (name) DO NOTHING`);
        positions = p.answer(tx<{ name: string; position: number }[]>`
          SELECT name, position FROM cursors WHERE name = ANY(${names}::text[]) FOR UPDATE`);
        p.send(tx`
          SELECT handoff_fail('cursor ' || c.name || ' moved')
            FROM unnest(${cursors.map((c) => c.name)}::text[], ${cursors.map((c) => c.from)}::bigint[])
                 AS e(name, position)
            JOIN cursors c ON c.name = e.name
           WHERE c.position <> e.position`);
      }
      const claimsLost = applyQuarantine(p, batch.quarantine);
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
      p.send(tx`COMMIT`);
      ended = true;
      try {
        await p.settled();
      } catch (error) {
        // Statements after a failed one fail too; the COMMIT then rolled everything back.
        if (isFailedCheck(error)) {
          const at = new Map((await positions?.catch(() => []))?.map((r) => [r.name, r.position]));
          for (const c of cursors) {
            const actual = at.get(c.name);
            if (actual !== undefined && actual !== c.from) throw new CursorMovedError(c.name, c.from, actual);
          }
          const lost = await claimsLost();
          if (lost) throw lost;
        }
        throw error;
      }
    } finally {
      // Nothing is left open on the connection, whatever stopped the pipeline being sent.
      if (!ended) await tx`ROLLBACK`.catch(() => {});
      tx.release();
    }
  };
}
