import type { Stats } from 'node:fs';
import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Profiles and emails live in these files: only the service's own user may read them. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException).code;

function statIfExists(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    // ENOTDIR: a file stands where a parent directory should be; the walk up finds it.
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * Creates `dir` and its missing parents with mode 0700; directories that exist are left as they
 * are. The walk is ours because Node's recursive mkdir loops forever where mkdir answers ENOENT
 * under a parent that exists (as it does under /proc).
 */
export function makePrivateDir(dir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const stat = statIfExists(at);
    if (stat?.isDirectory()) break;
    if (stat)
      throw Object.assign(new Error(`ENOTDIR: not a directory, '${at}'`), { code: 'ENOTDIR', path: at });
    missing.push(at);
    if (dirname(at) === at) break;
  }
  for (const at of missing.reverse()) mkdirSync(at, { mode: PRIVATE_DIR_MODE });
}

/**
 * Creates `file` empty with mode 0600 if it does not exist; if it does and this user owns it,
 * takes group and other permissions away. A file someone else owns is left alone.
 */
export function makePrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE_MODE));
    return;
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw error;
  }
  tightenIfOwned(file);
}

/** chmod 0600 a file this user owns that others may read; a missing file is fine. */
export function tightenIfOwned(file: string): void {
  const stat = statIfExists(file);
  if (stat?.isFile() && stat.uid === process.getuid?.() && (stat.mode & 0o077) !== 0)
    chmodSync(file, stat.mode & 0o700);
}
