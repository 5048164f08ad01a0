import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { pathSegments, pathText, positionOf } from '../shared/yaml-position.ts';
import type { AudienceDefinition } from '../audiences/index.ts';
import { validateAudiences } from '../audiences/index.ts';
import type { AudienceTarget } from '../sync/config.ts';
import { checkDestinations } from '../sync/config.ts';
import type { Problem, Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import { parseDuration } from '../shared/duration.ts';
import type { IdentityPolicy } from '../identity/model.ts';
import type { MonitoringConfig } from '../monitor/config.ts';
import type { CustomerIoConfig } from '../sources/customerio/config.ts';
import { APP_API_REGIONS } from '../sources/customerio/config.ts';
import type { RawConfig } from './schema.ts';
import { configSchema } from './schema.ts';

/** `storage.postgres`: Handoff's tables in one schema of a PostgreSQL database. */
export interface PostgresStorage {
  url: Secret;
  poolSize: number;
  schema: string;
}

/** A secret as configured: the variable it comes from, and its value when the variable is set. */
export interface Secret {
  env: string;
  value: string | undefined;
}

/** An event source and the credential its clients send. */
export type SourceConfig =
  | { id: string; kind: 'segment'; writeKey: Secret }
  | { id: string; kind: 'customerio'; siteId: string; apiKey: Secret };

/** The secret a source authenticates with: its write key, or its Customer.io API key. */
export const sourceSecret = (source: SourceConfig): Secret =>
  source.kind === 'customerio' ? source.apiKey : source.writeKey;

/** The validated, frozen configuration every part of Handoff is built from. */
/** Cordial bulk imports, resolved (see the schema for each field). */
export interface CordialBulkConfig {
  publicBaseUrl: string | undefined;
  s3: { bucket: string; prefix: string; region: string; endpoint?: string | undefined; urlExpirySeconds: number } | undefined;
  accountId: number | undefined;
  threshold: number;
  maxRows: number;
  maxJobs: number;
  pollIntervalMs: number;
  stallAfterMs: number;
  splitBelow: number;
  suppressTriggers: boolean;
}

export interface Config {
  /** The file it came from, for messages. */
  file: string;
  server: {
    host: string;
    port: number;
    adminToken: Secret | undefined;
    /** Headers must arrive within this many ms (default 10 s). */
    headersTimeoutMs: number;
    /** The whole request, body included, within this many ms (default 30 s). */
    requestTimeoutMs: number;
    /** A connection idle this many ms is closed (default 60 s). */
    connectionTimeoutMs: number;
    /** Idle keep-alive connections are kept this many ms (default 65 s). */
    keepAliveTimeoutMs: number;
    /** Connections open at once (default 1024). */
    maxConnections: number;
  };
  storage: {
    /** The embedded store's file; also where secrets.json is kept. */
    sqlitePath: string;
    /** When set, the store is this PostgreSQL database instead of the SQLite file. */
    postgres: PostgresStorage | undefined;
  };
  sources: SourceConfig[];
  ingest: {
    maxFutureSkewMs: number;
    /** Origins browsers may send to /v1/* from; `['*']` any, `[]` none (no CORS headers). */
    corsOrigins: readonly string[];
  };
  engine: { rankingRefreshMs: number };
  monitoring: MonitoringConfig;
  destinations: {
    cordial?: {
      baseUrl: string;
      apiKey: Secret;
      rateLimit: number;
      concurrency: number;
      createContacts: boolean;
      contactAttributes: string[];
      bulk?: CordialBulkConfig;
    };
  };
  /** The Customer.io App API, when audiences are sourced from Customer.io segments. */
  customerio: CustomerIoConfig | undefined;
  /** Each audience's destinations, validated. */
  targets: AudienceTarget[];
  identity: IdentityPolicy;
  /** Validated audience definitions, in file order (the compiler orders them by dependency). */
  audiences: AudienceDefinition[];
}

/** A configuration problem, with where it is in the file (1-based line and column when known). */
export interface ConfigProblem extends Problem {
  path: string;
  line?: number;
  column?: number;
}

/** Formats a problem as `file:line:col: path: message`. */
export const formatProblem = (file: string, p: ConfigProblem): string =>
  `${file}${p.line ? `:${p.line}:${p.column ?? 1}` : ''}: ${p.path ? `${p.path}: ` : ''}${p.message}`;

export function loadConfigFile(
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Result<Config, { code: string; message: string; problems: ConfigProblem[] }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const message = `cannot read the config file ${file}: ${(error as Error).message}`;
    return fail({
      code: 'config_unreadable',
      message,
      problems: [{ code: 'config_unreadable', message, path: '' }],
    });
  }
  return parseConfig(text, file, env);
}

export function parseConfig(
  text: string,
  file: string,
  env: Readonly<Record<string, string | undefined>>,
): Result<Config, { code: string; message: string; problems: ConfigProblem[] }> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: ConfigProblem[] = doc.errors.map((e) => ({
    code: 'config_syntax',
    message: e.message.split('\n')[0] ?? e.message,
    path: '',
    ...lines.linePos(e.pos[0]),
    column: lines.linePos(e.pos[0]).col,
  }));
  if (problems.length === 0 && doc.contents === null) {
    // Every section has a default, so an empty file would serve nothing and say nothing.
    const message = `${file}: the config file is empty; add at least a source (see examples/handoff.yaml for every section)`;
    return fail({ code: 'config_empty', message, problems: [{ code: 'config_empty', message, path: '' }] });
  }
  if (problems.length === 0) {
    const parsed = configSchema.safeParse(doc.toJS() ?? {});
    if (parsed.success) {
      const audiences = validateAudiences(parsed.data.audiences, { order: 'file' });
      const destinations = audiences.ok
        ? checkDestinations(audiences.value, parsed.data.destinations.cordial?.contactAttributes ?? [])
        : { targets: [], problems: [] };
      if (audiences.ok && destinations.targets.length > 0 && parsed.data.destinations.cordial === undefined) {
        destinations.problems.push({
          code: 'destination_not_configured',
          at: 'destinations',
          message: 'audiences sync to Cordial but destinations.cordial is not configured',
          hint: 'add destinations: { cordial: { apiKey: { env: HANDOFF_CORDIAL_API_KEY } } }',
        });
      }
      if (audiences.ok && parsed.data.customerio === undefined) {
        const sourced = audiences.value.findIndex((a) => a.source?.customerio !== undefined);
        if (sourced >= 0)
          destinations.problems.push({
            code: 'customerio_not_configured',
            at: `audiences[${sourced}].source`,
            message: 'the audience is sourced from a Customer.io segment but customerio is not configured',
            hint: 'add customerio: { region: us, appApiKey: { env: CUSTOMERIO_APP_API_KEY } }',
          });
      }
      if (audiences.ok && destinations.problems.length === 0) {
        return ok(
          freeze(
            build({ raw: parsed.data, audiences: audiences.value, targets: destinations.targets, file, env }),
          ),
        );
      }
      for (const p of audiences.ok ? destinations.problems : audiences.error.problems) {
        problems.push({
          code: p.code,
          message: `${p.message} (${p.hint})`,
          path: p.at,
          ...positionOf(doc, lines, pathSegments(p.at)),
        });
      }
    } else
      for (const issue of parsed.error.issues) {
        const path = issue.path as (string | number)[];
        problems.push({
          code: 'config_invalid',
          message: issue.message,
          path: pathText(path),
          ...positionOf(doc, lines, path),
        });
      }
  }
  const message = problems.map((p) => formatProblem(file, p)).join('\n');
  return fail({ code: 'config_invalid', message, problems });
}

/** The line and column in a config text of a path such as `audiences[3].condition`. */
export function locate(text: string, path: string): { line?: number; column?: number } {
  const lines = new LineCounter();
  return positionOf(parseDocument(text, { lineCounter: lines }), lines, pathSegments(path));
}

/** The checked parts of a config file, and the environment its secrets are read from. */
interface ConfigParts {
  raw: RawConfig;
  audiences: AudienceDefinition[];
  targets: AudienceTarget[];
  file: string;
  env: Readonly<Record<string, string | undefined>>;
}

function build({ raw, audiences, targets, file, env }: ConfigParts): Config {
  const secret = (ref: { env: string } | string): Secret =>
    typeof ref === 'string'
      ? { env: '', value: undefined }
      : { env: ref.env, value: env[ref.env] || undefined };
  const ms = (text: string): number => {
    const parsed = parseDuration(text);
    return parsed.ok ? parsed.value : 0;
  };
  return {
    file,
    server: {
      host: raw.server.host,
      port: raw.server.port,
      adminToken: secret(raw.server.adminToken ?? { env: 'HANDOFF_ADMIN_TOKEN' }),
      headersTimeoutMs: ms(raw.server.headersTimeout),
      requestTimeoutMs: ms(raw.server.requestTimeout),
      connectionTimeoutMs: ms(raw.server.connectionTimeout),
      keepAliveTimeoutMs: ms(raw.server.keepAliveTimeout),
      maxConnections: raw.server.maxConnections,
    },
    storage: {
      sqlitePath: raw.storage.sqlite?.path ?? './data/handoff.db',
      postgres: raw.storage.postgres && {
        url: secret(raw.storage.postgres.url),
        poolSize: raw.storage.postgres.poolSize,
        schema: raw.storage.postgres.schema,
      },
    },
    sources: raw.sources.map((s): SourceConfig =>
      s.kind === 'customerio'
        ? { id: s.id, kind: s.kind, siteId: s.siteId, apiKey: secret(s.apiKey) }
        : { id: s.id, kind: s.kind, writeKey: secret(s.writeKey) },
    ),
    ingest: { maxFutureSkewMs: ms(raw.ingest.maxFutureSkew), corsOrigins: raw.ingest.cors.origins },
    engine: { rankingRefreshMs: ms(raw.engine.rankingRefresh) },
    monitoring: {
      checkIntervalMs: ms(raw.monitoring.checkInterval),
      driftThreshold: raw.monitoring.driftThreshold / 100,
      exitAckDeadlineMs: ms(raw.monitoring.exitAckDeadline),
      matchRateWarn: raw.monitoring.matchRateWarn / 100,
      overdueWakeupAfterMs: ms(raw.monitoring.overdueWakeupAfter),
      conversionEvent: raw.monitoring.conversionEvent,
      retentionMs: ms(raw.monitoring.retention),
      alerts: raw.monitoring.alerts.map((a) => ({ webhook: { url: secret(a.webhook.url) } })),
    },
    destinations: raw.destinations.cordial
      ? {
          cordial: {
            ...raw.destinations.cordial,
            apiKey: secret(raw.destinations.cordial.apiKey),
            bulk: raw.destinations.cordial.bulk && {
              ...raw.destinations.cordial.bulk,
              pollIntervalMs: ms(raw.destinations.cordial.bulk.pollInterval),
              stallAfterMs: ms(raw.destinations.cordial.bulk.stallAfter),
              publicBaseUrl: raw.destinations.cordial.bulk.publicBaseUrl,
              accountId: raw.destinations.cordial.bulk.accountId,
              s3: raw.destinations.cordial.bulk.s3 && {
                bucket: raw.destinations.cordial.bulk.s3.bucket,
                prefix: raw.destinations.cordial.bulk.s3.prefix,
                region: raw.destinations.cordial.bulk.s3.region,
                endpoint: raw.destinations.cordial.bulk.s3.endpoint,
                urlExpirySeconds: ms(raw.destinations.cordial.bulk.s3.urlExpiry) / 1000,
              },
            },
          },
        }
      : {},
    customerio: raw.customerio && {
      baseUrl: (raw.customerio.baseUrl ?? APP_API_REGIONS[raw.customerio.region]).replace(/\/+$/, ''),
      appApiKey: secret(raw.customerio.appApiKey),
      webhookSecret: secret(raw.customerio.webhookSecret ?? { env: 'HANDOFF_CUSTOMERIO_WEBHOOK_SECRET' }),
      webhookHeader: raw.customerio.webhookHeader,
      pollEveryMs: ms(raw.customerio.pollEvery),
      pageSize: raw.customerio.pageSize,
      requestsPerSecond: raw.customerio.requestsPerSecond,
      maxRemovalShare: raw.customerio.maxRemovalShare,
    },
    targets,
    identity: raw.identity,
    audiences,
  };
}

function freeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) freeze(v);
  }
  return value;
}
