import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/** What a running `serve` says about itself, in a file beside its database. */
export interface ServeMark {
  pid: number;
  /** `rebuilding`: applying changed definitions, processing held back; `serving`: processing. */
  state: 'rebuilding' | 'serving';
  /** When it entered that state (ms epoch). */
  since: number;
}

/**
 * The mark file of a database. SQLite in WAL mode needs every process using the file on one
 * host, so a process id found here can be checked for life.
 */
const markPath = (dbPath: string): string => `${dbPath}.serve`;

/** Records (or updates) that this process serves the database. */
export function markServe(dbPath: string, state: ServeMark['state'], now: number): void {
  if (dbPath === ':memory:') return;
  const mark: ServeMark = { pid: process.pid, state, since: now };
  const temp = `${markPath(dbPath)}.${process.pid}`;
  writeFileSync(temp, JSON.stringify(mark));
  renameSync(temp, markPath(dbPath));
}

/** Removes this process's mark (a mark another serve wrote since is left alone). */
export function clearServeMark(dbPath: string): void {
  if (runningServe(dbPath)?.pid === process.pid) rmSync(markPath(dbPath), { force: true });
}

/** The serve running on the database, if any; a mark left by a process that died is ignored. */
export function runningServe(dbPath: string): ServeMark | undefined {
  if (dbPath === ':memory:') return undefined;
  let mark: ServeMark;
  try {
    mark = JSON.parse(readFileSync(markPath(dbPath), 'utf8')) as ServeMark;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(mark.pid) || mark.pid <= 0) return undefined;
  try {
    process.kill(mark.pid, 0);
    return mark;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else; it still holds the database.
    return (error as { code?: string }).code === 'EPERM' ? mark : undefined;
  }
}
