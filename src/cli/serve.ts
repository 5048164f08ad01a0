import type { Logger } from 'pino';
import type { App } from '../app/app.ts';
import { openApp, storeLocation } from '../app/app.ts';
import { openStore } from '../store/open.ts';
import { serverServices } from '../app/services.ts';
import { checkDefinitions, startWhenReady } from '../app/definitions.ts';
import { clearServeMark } from '../app/serve-mark.ts';
import { fillMissingSecrets, fillMissingSecretsFrom, secretValues } from '../app/secrets.ts';
import { buildServer } from '../server/server.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';
import type { Config } from '../config/load.ts';
import { ok } from '../shared/result.ts';
import { createLogger } from './logger.ts';
import { listenFailure, parsePort, parseRoles, plainHttpWarning, storeFailure } from './serve-startup.ts';

export interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  /** Apply changed audience definitions: rebuild audience state while accepting events, then process them. */
  apply?: boolean;
  /** `ingest`, `jobs` or `all` (default). */
  roles?: string;
}

/** `handoff serve`: ingest, processing and the HTTP API until SIGINT/SIGTERM. */
export async function serve(options: ServeOptions, io: Io): Promise<number> {
  const loaded = loadConfigOrReport(options.config, io);
  if (!loaded) return 2;
  const port = options.port === undefined ? ok(loaded.server.port) : parsePort(options.port);
  if (!port.ok) {
    io.err(`handoff serve: ${port.error.message}`);
    return 2;
  }
  const roles = parseRoles(options.roles);
  if (!roles.ok) {
    io.err(`handoff serve: ${roles.error.message}`);
    return 2;
  }
  // Rebuilding audience state is processing: a process that only ingests leaves it to a jobs process.
  if (roles.value === 'ingest' && options.apply === true) {
    io.err(
      'handoff serve: --apply rebuilds audience state, which --roles ingest does not do; run it with --roles jobs or all',
    );
    return 2;
  }
  let started: Awaited<ReturnType<typeof openStorage>>;
  try {
    started = await openStorage(loaded);
  } catch (error) {
    io.err(storeFailure(loaded, error));
    return 2;
  }
  const { app, config, logger } = started;
  const definitions = await checkDefinitions(app, { apply: options.apply === true });
  if (!definitions.ready) {
    io.err(definitions.message);
    await app.stop();
    return 2;
  }
  const server = buildServer(serverServices(app), { logger, ingest: roles.value !== 'jobs' });
  const host = options.host ?? config.server.host;
  let address: string;
  try {
    address = await server.listen({ port: port.value, host });
  } catch (error) {
    io.err(listenFailure(host, port.value, error));
    await server.close();
    await app.stop();
    return 2;
  }
  logger.info(
    { address, config: config.file, sources: config.sources.map((s) => s.id), roles: roles.value },
    'handoff is serving',
  );
  const exposed = plainHttpWarning(host);
  if (exposed) logger.warn({ host }, exposed);
  // Ingest is answered from here on; processing starts once audience state matches the definitions.
  const rebuild = new AbortController();
  const ready =
    roles.value === 'ingest'
      ? Promise.resolve()
      : startWhenReady(app, definitions, { logger, signal: rebuild.signal });

  const code = await new Promise<number>((resolve) => {
    const stop = () => resolve(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    ready.catch((error: unknown) => {
      if (rebuild.signal.aborted) return;
      logger.error({ err: error }, 'rebuilding audience state failed; stopping (events received are kept)');
      resolve(1);
    });
  });
  logger.info({}, 'stopping: finishing in-flight requests and the current batch');
  rebuild.abort(new Error('serve is stopping'));
  await ready.catch(() => undefined);
  await server.close();
  await app.monitor.checks.stop();
  await app.stop();
  clearServeMark(config.storage.sqlitePath);
  return code;
}

/**
 * Secrets filled (generated ones kept beside the SQLite database, or in the PostgreSQL schema),
 * the logger, and the app on its opened store.
 */
async function openStorage(loaded: Config): Promise<{ app: App; config: Config; logger: Logger }> {
  const postgres = loaded.storage.postgres;
  if (postgres === undefined) {
    const { config, generated, file } = fillMissingSecrets(loaded);
    const logger = createLogger(secretValues(config));
    if (generated.length > 0) {
      logger.warn(
        { variables: generated, file },
        `${generated.join(', ')} not set: using generated values stored in ${file}; set the variables in production`,
      );
    }
    return { app: await openApp({ config, logger }), config, logger };
  }
  const store = await openStore(storeLocation(loaded));
  try {
    const { config, generated } = await fillMissingSecretsFrom(loaded, store.secrets);
    const logger = createLogger(secretValues(config));
    if (generated.length > 0) {
      const table = `${postgres.schema}.generated_secrets`;
      logger.warn(
        { variables: generated, table },
        `${generated.join(', ')} not set: using generated values kept in the database (table ${table}), shared by every serve on it; set the variables in production`,
      );
    }
    return { app: await openApp({ config, logger, store }), config, logger };
  } catch (error) {
    await store.close();
    throw error;
  }
}
