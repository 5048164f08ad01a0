/**
 * Why the store cannot take writes, when a failure is the server's condition rather than the
 * request's: a full disk or database, an I/O error, a read-only file, a lock held past the busy
 * timeout; on PostgreSQL also a server out of space or connections, read-only, or unreachable.
 * Looks through `cause` chains. Undefined for anything else.
 */
export function storeUnavailableReason(error: unknown): string | undefined {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    const reason = typeof code === 'string' ? reasonFor(code) : undefined;
    if (reason) return reason;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function reasonFor(code: string): string | undefined {
  if (code === 'SQLITE_FULL') return 'the database is full (no space left on its disk, or at its size limit)';
  if (code === 'ENOSPC') return 'no space is left on the disk holding the database';
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO')
    return `the database cannot be written (I/O error ${code})`;
  if (code.startsWith('SQLITE_READONLY') || code === 'EROFS') return 'the database is read-only';
  if (code.startsWith('SQLITE_BUSY'))
    return 'the database stayed locked by another process past the busy timeout';
  if (code === 'SQLITE_CANTOPEN') return 'the database file cannot be opened';
  return postgresReasonFor(code);
}

/** PostgreSQL's SQLSTATEs (porsager's PostgresError.code) and the connection's failures. */
function postgresReasonFor(code: string): string | undefined {
  if (code === '53100') return 'the database server is out of disk space';
  if (code === '53200') return 'the database server is out of memory';
  if (code === '53300') return 'the database server has too many connections';
  if (code === '25006') return 'the database is read-only';
  if (code === 'CONNECTION_ENDED') return 'the store is closing';
  if (code === '57P03') return 'the database server is starting up or shutting down';
  if (/^57P0[0-9]$/.test(code)) return `the database server is shutting down or was stopped (${code})`;
  if (/^08[0-9A-Z]{3}$/.test(code) || /^CONNECT(ION_CLOSED|ION_DESTROYED|_TIMEOUT)$/.test(code))
    return `the database server cannot be reached (${code})`;
  if (/^E(CONNREFUSED|CONNRESET|TIMEDOUT|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)$/.test(code))
    return `the database server cannot be reached (${code})`;
  return undefined;
}

/** Whether the store can take writes now; the reason when it cannot. */
export type Readiness = { ok: true } | { ok: false; reason: string };
