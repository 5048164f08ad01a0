import type { Config } from '../config/load.ts';
import { storeUnavailableReason } from '../store/failures.ts';
import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';

/** `--port`: a whole number from 0 (any free port) to 65535. */
export function parsePort(text: string): Result<number> {
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isInteger(port) && port <= 65535) return ok(port);
  return fail({
    code: 'invalid_port',
    message: `--port must be a whole number from 0 to 65535 (0: any free port), not "${text}"`,
  });
}

type SystemError = Error & { code?: string; path?: string; syscall?: string };

/** Why the storage path cannot be used, in one line that says what to change. */
export function storageFailure(sqlitePath: string, error: unknown): string {
  const e = error as SystemError;
  const at = e.path ?? sqlitePath;
  const why = ((): string => {
    switch (e.code) {
      case 'ENOTDIR':
        return `${at} is not a directory (a file is in the way)`;
      case 'EACCES':
      case 'EPERM':
        return `permission denied on ${at}`;
      case 'EROFS':
        return `${at} is on a read-only file system`;
      case 'ENOENT':
        return `${at} cannot be created there (the file system does not allow it)`;
      default:
        return storeUnavailableReason(error) ?? e.message;
    }
  })();
  return `handoff serve: cannot use the database at ${sqlitePath}: ${why}; set storage.sqlite.path to a file in a directory this user can write`;
}

/** Why the configured store cannot be opened, in one line that says what to change. */
export function storeFailure(config: Config, error: unknown, command = 'handoff serve'): string {
  const postgres = config.storage.postgres;
  if (postgres === undefined)
    return storageFailure(config.storage.sqlitePath, error).replace('handoff serve', command);
  return `${command}: cannot use the PostgreSQL store (${postgres.url.env}, schema ${postgres.schema}): ${postgresReason(error)}`;
}

/** A PostgreSQL connection or migration failure, said plainly, without the URL or its password. */
export function postgresReason(error: unknown): string {
  const e = error as SystemError & { severity?: string };
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'the server refused the connection (is PostgreSQL running at that host and port?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'the database host name does not resolve';
    case 'CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'the connection timed out';
    case '28P01':
    case '28000':
      return 'the server refused the user or password';
    case '3D000':
      return `${e.message} (create it, or name an existing database in the URL)`;
    case '42501':
      return `${e.message} (the user needs CREATE on the database, or the schema created for it)`;
    default:
      return e.message;
  }
}

/** Why the server cannot listen, in one line that says what to change. */
export function listenFailure(host: string, port: number, error: unknown): string {
  const e = error as SystemError;
  const where = `${host}:${port}`;
  switch (e.code) {
    case 'EADDRINUSE':
      return `handoff serve: cannot listen on ${where}: the port is already in use; stop what uses it or choose another with --port or server.port`;
    case 'EACCES':
      return `handoff serve: cannot listen on ${where}: permission denied (ports below 1024 need privileges); choose a port from 1024 with --port or server.port`;
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `handoff serve: cannot listen on ${where}: ${host} is not an address of this machine; fix --host or server.host`;
    default:
      return `handoff serve: cannot listen on ${where}: ${e.message}`;
  }
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost|::ffff:127\.\d+\.\d+\.\d+)$/;

/**
 * A warning when the server listens beyond this machine over plain HTTP: the admin token and
 * write keys would cross the network unencrypted. Undefined on a loopback address.
 */
export function plainHttpWarning(host: string): string | undefined {
  if (LOOPBACK.test(host)) return undefined;
  const where = host === '0.0.0.0' || host === '::' ? `every interface (${host})` : host;
  return `serving plain HTTP on ${where}: the admin token and write keys cross the network unencrypted; set server.host: 127.0.0.1 behind a TLS-terminating proxy, or terminate TLS in front (see README, Running in production)`;
}

/** What a serve process does: `ingest` answers ingest and takes no lease; `jobs` runs the background jobs under leases; `all` both. */
export type ServeRoles = 'ingest' | 'jobs' | 'all';

/** `--roles`: ingest, jobs or all. */
export function parseRoles(text: string | undefined): Result<ServeRoles> {
  if (text === undefined || text === 'all' || text === 'ingest' || text === 'jobs') return ok(text ?? 'all');
  return fail({
    code: 'invalid_roles',
    message: `--roles must be ingest, jobs or all (ingest: HTTP ingest only; jobs: background jobs, health, metrics and admin API), not "${text}"`,
  });
}
