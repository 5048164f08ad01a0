import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config, Secret } from '../config/load.ts';
import { sourceSecret } from '../config/load.ts';
import { makePrivateDir, tightenIfOwned } from '../shared/private-files.ts';
import type { GeneratedSecretStore } from '../store/ports.ts';

const generate = (): string => randomBytes(18).toString('base64url');

/** The config with every secret whose variable is unset given `valueOf(variable)`. */
function withSecrets(config: Config, valueOf: (env: string) => string): Config {
  const fill = (secret: Secret): Secret =>
    secret.value !== undefined ? secret : { env: secret.env, value: valueOf(secret.env) };
  return {
    ...config,
    server: {
      ...config.server,
      adminToken: fill(config.server.adminToken ?? { env: 'HANDOFF_ADMIN_TOKEN', value: undefined }),
    },
    sources: config.sources.map((s) =>
      s.kind === 'customerio' ? { ...s, apiKey: fill(s.apiKey) } : { ...s, writeKey: fill(s.writeKey) },
    ),
    customerio: config.customerio && {
      ...config.customerio,
      webhookSecret: fill(config.customerio.webhookSecret),
    },
  };
}

/**
 * Secrets whose environment variable is unset get a generated value, kept in `secrets.json`
 * beside the database (mode 0600) so it is stable across restarts. This lets `npm start` work
 * out of the box; production sets the variables. Returns the config with every secret filled
 * and the variables that were generated, so the caller can say where to find them.
 */
export function fillMissingSecrets(config: Config): { config: Config; generated: string[]; file: string } {
  const file = join(
    config.storage.sqlitePath === ':memory:' ? '.' : dirname(config.storage.sqlitePath),
    'secrets.json',
  );
  // A copy an older version or an operator left readable by others is tightened first.
  tightenIfOwned(file);
  const stored: Record<string, string> = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>)
    : {};
  const generated: string[] = [];
  const filled = withSecrets(config, (env) => {
    let value = stored[env];
    if (value === undefined) {
      value = generate();
      stored[env] = value;
      generated.push(env);
    }
    return value;
  });
  if (generated.length > 0) {
    makePrivateDir(dirname(file));
    writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { config: Object.freeze(filled), generated, file };
}

/**
 * As fillMissingSecrets, with the generated values kept in the store itself (PostgreSQL: table
 * `generated_secrets` of the schema), so every process on the database, on any machine, and every
 * restart use the same ones. `generated` names those this call generated.
 */
export async function fillMissingSecretsFrom(
  config: Config,
  store: GeneratedSecretStore,
): Promise<{ config: Config; generated: string[] }> {
  const fresh: Record<string, string> = {};
  withSecrets(config, (env) => (fresh[env] ??= generate()));
  const kept = await store.keep(fresh);
  const generated = Object.keys(fresh).filter((env) => kept[env] === fresh[env]);
  return { config: Object.freeze(withSecrets(config, (env) => kept[env] ?? fresh[env]!)), generated };
}

/** Every secret value in the config, for log redaction. */
export const secretValues = (config: Config): string[] =>
  [
    config.server.adminToken?.value,
    config.storage.postgres?.url.value,
    config.destinations.cordial?.apiKey.value,
    config.customerio?.appApiKey.value,
    config.customerio?.webhookSecret.value,
    ...config.monitoring.alerts.map((a) => a.webhook.url.value),
    ...config.sources.map((s) => sourceSecret(s).value),
  ].filter((v): v is string => typeof v === 'string' && v.length > 0);
