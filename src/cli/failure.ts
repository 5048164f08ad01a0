import { BUSY_TIMEOUT_MS } from '../store/sqlite/database.ts';

/** What an unexpected failure of a command says: what failed, and for a busy database, why. */
export function describeFailure(command: string, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof code === 'string' && code.startsWith('SQLITE_BUSY'))
    return (
      `handoff ${command} failed: the database stayed locked by another process (a running serve or import) ` +
      `for more than ${BUSY_TIMEOUT_MS / 1000} s (${code}: ${message}); nothing of the failed step was stored, run it again`
    );
  const detail = typeof code === 'string' ? ` (${code})` : '';
  return `handoff ${command} failed: ${message}${detail}`;
}
