// Where a sync benchmark keeps Handoff's data: a temp SQLite file (the default) or a fresh schema
// of the PostgreSQL test database (`--store postgres`), and the questions the benchmark asks of
// the stored rows afterwards, in each one's SQL.
import Database from 'better-sqlite3';
import type { Store } from '../../src/store/ports.ts';
import { openBenchPostgres } from '../postgres.ts';

import type { StoreKind } from '../lib.ts';

export interface ItemTotals {
  items: number;
  desired: number;
  contactsDesired: number;
  contacts: number;
  pending: number;
  dead: number;
  removalsSent: number;
}

export interface BenchStore {
  kind: StoreKind;
  /** What the store is, for the printed figures. */
  label: string;
  /** The store to hand the app; undefined: the app opens the config's SQLite file. */
  store: Store | undefined;
  changeRows(): Promise<{ audience: string; change: string; heldOut: boolean; n: number }[]>;
  maxChangeSeq(): Promise<number>;
  itemTotals(): Promise<ItemTotals>;
  /** The sync log's acknowledged sends to `cordial`, in log order. */
  acknowledged(): Promise<{ contact: string; list: string; value: boolean; request: string; at: number }[]>;
  /** The sync log's rows to `cordial`, by result. */
  logResults(): Promise<Record<string, number>>;
  /** Drops what the benchmark stored (the temp file is the caller's). */
  close(): Promise<void>;
}

const byResult = (rows: readonly { result: string; n: number }[]) =>
  rows.reduce<Record<string, number>>((o, r) => ((o[r.result] = r.n), o), {});

/** A synchronous read as a promise: a throw becomes its rejection. */
const settle = <T>(read: () => T): Promise<T> => new Promise((resolve) => resolve(read()));

/** The SQLite file the app opens at `dbPath`, read through a read-only handle of its own. */
function sqliteBench(dbPath: string): BenchStore {
  let handle: Database.Database | undefined;
  const db = () => (handle ??= new Database(dbPath, { readonly: true }));
  const all = <T>(text: string) => db().prepare(text).all() as T[];
  return {
    kind: 'sqlite',
    label: 'SQLite (temp file)',
    store: undefined,
    changeRows: () =>
      settle(() =>
        all<{ audience: string; change: string; heldOut: number; n: number }>(
          'SELECT audience, change, held_out AS heldOut, count(*) AS n FROM changes GROUP BY 1, 2, 3',
        ).map((r) => ({ ...r, heldOut: r.heldOut === 1 })),
      ),
    maxChangeSeq: () => settle(() => all<{ s: number }>('SELECT max(seq) AS s FROM changes')[0]!.s),
    itemTotals: () =>
      settle(
        () =>
          all<ItemTotals>(
            `SELECT count(*) AS items, sum(desired) AS desired, count(DISTINCT CASE WHEN desired = 1 THEN contact END) AS contactsDesired,
               count(DISTINCT contact) AS contacts, sum(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS pending,
               sum(CASE WHEN state = 'dead' THEN 1 ELSE 0 END) AS dead, sum(CASE WHEN sent = 0 THEN 1 ELSE 0 END) AS removalsSent
             FROM sync_items WHERE destination = 'cordial'`,
          )[0]!,
      ),
    acknowledged: () =>
      settle(() =>
        all<{ contact: string; list: string; value: number; request: string; at: number }>(
          `SELECT contact, list, value, request, at FROM sync_log WHERE destination = 'cordial' AND result = 'ok' ORDER BY id`,
        ).map((r) => ({ ...r, value: r.value === 1 })),
      ),
    logResults: () =>
      settle(() =>
        byResult(
          all<{ result: string; n: number }>(
            `SELECT result, count(*) AS n FROM sync_log WHERE destination = 'cordial' GROUP BY result`,
          ),
        ),
      ),
    close: () => settle(() => void handle?.close()),
  };
}

/** A fresh schema of the PostgreSQL test database (HANDOFF_TEST_DATABASE_URL), dropped on close. */
async function postgresBench(): Promise<BenchStore> {
  const pg = await openBenchPostgres();
  const { store, sql, schema } = pg;
  return {
    kind: 'postgres',
    label: `PostgreSQL (schema ${schema}, pool of 10)`,
    store,
    changeRows: async () => [
      ...(await sql<{ audience: string; change: string; heldOut: boolean; n: number }[]>`
        SELECT audience, change, held_out AS "heldOut", count(*)::integer AS n FROM changes GROUP BY 1, 2, 3`),
    ],
    maxChangeSeq: async () => (await sql<{ s: number }[]>`SELECT max(seq) AS s FROM changes`)[0]!.s,
    itemTotals: async () =>
      (
        await sql<ItemTotals[]>`
          SELECT count(*)::integer AS items, count(*) FILTER (WHERE desired)::integer AS desired,
            count(DISTINCT contact) FILTER (WHERE desired)::integer AS "contactsDesired",
            count(DISTINCT contact)::integer AS contacts, count(*) FILTER (WHERE state = 'pending')::integer AS pending,
            count(*) FILTER (WHERE state = 'dead')::integer AS dead,
            count(*) FILTER (WHERE sent = false)::integer AS "removalsSent"
          FROM sync_items WHERE destination = 'cordial'`
      )[0]!,
    acknowledged: async () => [
      ...(await sql<{ contact: string; list: string; value: boolean; request: string; at: number }[]>`
        SELECT contact, list, value, request, at FROM sync_log WHERE destination = 'cordial' AND result = 'ok' ORDER BY id`),
    ],
    logResults: async () =>
      byResult(
        await sql<{ result: string; n: number }[]>`
          SELECT result, count(*)::integer AS n FROM sync_log WHERE destination = 'cordial' GROUP BY result`,
      ),
    close: () => pg.drop(),
  };
}

export const openBenchStore = (kind: StoreKind, dbPath: string): Promise<BenchStore> =>
  kind === 'postgres' ? postgresBench() : Promise.resolve(sqliteBench(dbPath));
