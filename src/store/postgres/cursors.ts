import type { Cursors } from '../ports.ts';
import type { Sql } from './database.ts';

/** Durable positions of the stages that read the log; a cursor never moved is at 0. */
export function postgresCursors(sql: Sql): Cursors {
  return {
    get: async (name) => {
      const [row] = await sql<{ position: number }[]>`SELECT position FROM cursors WHERE name = ${name}`;
      return row?.position ?? 0;
    },
  };
}
