import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config, Secret } from '../config/load.ts';
import { sourceSecret } from '../config/load.ts';
import { makePrivateDir, tightenIfOwned } from '../shared/private-files.ts';

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
  const fill = (secret: Secret): Secret => {
    if (secret.value !== undefined) return secret;
    let value = stored[secret.env];
    if (value === undefined) {
      value = randomBytes(18).toString('base64url');
      stored[secret.env] = value;
      generated.push(secret.env);
    }
    return { env: secret.env, value };
  };
  const filled: Config = {
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
  if (generated.length > 0) {
    makePrivateDir(dirname(file));
    writeFileSync(file, JSON.stringify(stored, null, 2) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return { config: Object.freeze(filled), generated, file };
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
