import { readFileSync } from 'node:fs';
import { lintAudiences } from '../audiences/index.ts';
import type { Config, Secret } from '../config/load.ts';
import { formatProblem, locate, sourceSecret } from '../config/load.ts';
import type { Io } from './config-path.ts';
import { configPath, loadConfigOrReport } from './config-path.ts';

/**
 * `handoff validate`: checks the config (exit 2 with each problem and where it is), then lints
 * audience hygiene: warnings with a fix, which do not fail unless `--strict`.
 */
export function validate(options: { config?: string; strict?: boolean }, io: Io): number {
  const config = loadConfigOrReport(options.config, io);
  if (!config) return 2;
  const file = configPath(options.config, io.env);
  for (const note of missingSecretNotes(config)) io.err(`note: ${note}`);
  const warnings = lintAudiences(config.audiences);
  const text = readFileSync(file, 'utf8');
  for (const w of warnings) {
    io.out(
      `warning: ${formatProblem(file, { ...w, path: w.at, ...locate(text, w.at), message: `${w.message} (fix: ${w.hint})` })}`,
    );
  }
  io.out(
    `${file}: valid (${config.sources.length} sources, ${config.audiences.length} audiences, ${warnings.length} warnings)`,
  );
  return options.strict && warnings.length > 0 ? 1 : 0;
}

const unset = (secret: Secret | undefined): secret is Secret =>
  secret !== undefined && secret.value === undefined;

/**
 * What serve does about each unset secret. Credentials Handoff checks (the admin token, write
 * keys, the webhook secret) it generates and keeps (secrets.json beside SQLite, a table on
 * PostgreSQL); API keys that another service issues it cannot, so the work that needs them waits.
 */
export function missingSecretNotes(config: Config): string[] {
  const keptIn = config.storage.postgres
    ? `the database (table ${config.storage.postgres.schema}.generated_secrets)`
    : 'secrets.json beside the database';
  const generated = [
    config.server.adminToken,
    ...config.sources.map(sourceSecret),
    config.customerio?.webhookSecret,
  ]
    .filter(unset)
    .map((s) => `${s.env} is not set; serve will generate a value for it and keep it in ${keptIn}`);
  const cordial = config.destinations.cordial?.apiKey;
  const appApi = config.customerio?.appApiKey;
  const database = config.storage.postgres?.url;
  return [
    ...generated,
    ...(unset(database)
      ? [
          `${database.env} is not set; serve cannot reach the PostgreSQL store (storage.postgres.url) until it is set`,
        ]
      : []),
    ...(unset(cordial)
      ? [
          `${cordial.env} is not set; a Cordial API key cannot be generated: Cordial sync stays paused (changes wait in the outbox) until it is set`,
        ]
      : []),
    ...(unset(appApi)
      ? [
          `${appApi.env} is not set; a Customer.io App API key cannot be generated: segment polls stay paused (webhooks still work) until it is set`,
        ]
      : []),
  ];
}
