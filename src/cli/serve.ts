import { createApp } from '../app/app.ts';
import { checkDefinitions } from '../app/definitions.ts';
import { fillMissingSecrets, secretValues } from '../app/secrets.ts';
import { buildServer } from '../server/server.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';
import { createLogger } from './logger.ts';

export interface ServeOptions {
  config?: string;
  port?: string;
  host?: string;
  /** Apply changed audience definitions (backfill) before serving. */
  apply?: boolean;
}

/** `handoff serve`: ingest, processing and the HTTP API until SIGINT/SIGTERM. */
export async function serve(options: ServeOptions, io: Io): Promise<number> {
  const loaded = loadConfigOrReport(options.config, io);
  if (!loaded) return 2;
  const { config, generated, file } = fillMissingSecrets(loaded);
  const logger = createLogger(secretValues(config));
  if (generated.length > 0) {
    logger.warn(
      { variables: generated, file },
      `${generated.join(', ')} not set: using generated values stored in ${file}; set the variables in production`,
    );
  }
  const app = createApp({ config, logger });
  const definitions = await checkDefinitions(app, { apply: options.apply === true });
  if (!definitions.ready) {
    io.err(definitions.message);
    await app.stop();
    return 2;
  }
  if (definitions.applied) {
    const summary = definitions.applied.lines.map((l) => `${l.audience} +${l.enter}/-${l.exit}`).join(', ');
    logger.info({ audiences: definitions.applied.lines }, `applied audience definitions: ${summary}`);
  }
  const server = buildServer(app, { logger });
  app.start();
  app.monitor.checks.start();
  const port = options.port === undefined ? config.server.port : Number(options.port);
  const address = await server.listen({ port, host: options.host ?? config.server.host });
  logger.info(
    { address, config: config.file, sources: config.sources.map((s) => s.id) },
    'handoff is serving',
  );

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  logger.info({}, 'stopping: finishing in-flight requests and the current batch');
  await server.close();
  await app.monitor.checks.stop();
  await app.stop();
  return 0;
}
