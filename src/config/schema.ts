import { z } from 'zod';
import { IDENTIFIER_KINDS } from '../identity/model.ts';
import { isPhoneRegion } from '../identity/normalize.ts';
import { parseDuration } from '../shared/duration.ts';
import { customerIoSection } from '../sources/customerio/config.ts';

/** A secret is never written in the file: it names the environment variable that holds it. */
export const secretRef = z
  .object({
    env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as HANDOFF_ADMIN_TOKEN'),
  })
  .strict()
  .describe('A secret, read from the named environment variable; never stored in this file.');

const secretField = z
  .union([secretRef, z.string()], {
    error: (issue) =>
      issue.input === undefined
        ? 'required: { env: SOME_VARIABLE }, naming the variable that holds it'
        : undefined,
  })
  .superRefine((value, ctx) => {
    if (typeof value === 'string') {
      ctx.addIssue({
        code: 'custom',
        message: 'secrets may not be written in the file: use { env: SOME_VARIABLE } and set that variable',
      });
    }
  });

const duration = z
  .string()
  .regex(/^(\d+(ms|s|m|h|d|w))+$/, 'a duration such as 30s, 15m, 4h or 7d')
  .describe('A duration: a number followed by ms, s, m, h, d or w.');

/**
 * The HTTP server's limits against slow or idle clients. The keep-alive timeout outlasts the
 * 60 s idle timeout of common load balancers, so the proxy, not Handoff, closes idle connections.
 */
export const SERVER_LIMIT_DEFAULTS = {
  headersTimeout: '10s',
  requestTimeout: '30s',
  connectionTimeout: '60s',
  keepAliveTimeout: '65s',
  maxConnections: 1024,
} as const;

const identifierKind = z.enum(IDENTIFIER_KINDS);

/** A browser origin as its Origin header spells it: scheme, host and port, no path. */
const corsOrigin = z
  .string()
  .regex(
    /^(\*|https?:\/\/[^/\s]+)$/,
    "'*' or an origin such as https://shop.example.com (no path or trailing slash)",
  );

const sourceId = z.string().regex(/^[a-z0-9_-]+$/, 'lowercase letters, digits, dashes or underscores');

/** Where events come from: Segment-spec clients (the default kind) or Customer.io Track API v1 clients. */
export const sourceSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ id: sourceId, kind: z.literal('segment').default('segment'), writeKey: secretField }).strict(),
    z
      .object({
        id: sourceId,
        kind: z.literal('customerio'),
        // Not a secret: Customer.io puts the site id in browser snippets.
        siteId: z
          .string()
          .min(1, 'the site id clients send as the Basic-auth user')
          .describe(
            'The Customer.io site id clients send as the Basic-auth user, with the API key as password.',
          ),
        apiKey: secretField,
      })
      .strict(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? 'kind must be segment or customerio' : undefined) },
);

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('0.0.0.0'),
        port: z.number().int().min(0).max(65535).default(8080),
        adminToken: secretField.optional(),
        /** A request's headers must all arrive within this long (slow clients are cut off). */
        headersTimeout: duration.default(SERVER_LIMIT_DEFAULTS.headersTimeout),
        /** A whole request, body included, must arrive within this long. */
        requestTimeout: duration.default(SERVER_LIMIT_DEFAULTS.requestTimeout),
        /** A connection with no traffic for this long is closed. */
        connectionTimeout: duration.default(SERVER_LIMIT_DEFAULTS.connectionTimeout),
        /** An idle keep-alive connection is kept this long between requests. */
        keepAliveTimeout: duration.default(SERVER_LIMIT_DEFAULTS.keepAliveTimeout),
        /** Connections open at once; further ones are refused until some close. */
        maxConnections: z.number().int().min(1).default(SERVER_LIMIT_DEFAULTS.maxConnections),
      })
      .strict()
      .superRefine((server, ctx) => {
        const ms = (text: string) => {
          const parsed = parseDuration(text);
          return parsed.ok ? parsed.value : undefined;
        };
        for (const key of [
          'headersTimeout',
          'requestTimeout',
          'connectionTimeout',
          'keepAliveTimeout',
        ] as const)
          if (ms(server[key]) === 0)
            ctx.addIssue({
              code: 'custom',
              path: [key],
              message: 'must be longer than 0s (0 would mean no limit)',
            });
        const headers = ms(server.headersTimeout);
        const request = ms(server.requestTimeout);
        if (headers !== undefined && request !== undefined && headers > request)
          ctx.addIssue({
            code: 'custom',
            path: ['headersTimeout'],
            message: `must not be longer than requestTimeout (${server.requestTimeout}): the headers are part of the request`,
          });
      })
      .default({ host: '0.0.0.0', port: 8080, ...SERVER_LIMIT_DEFAULTS }),
    storage: z
      .object({
        sqlite: z
          .object({ path: z.string().default('./data/handoff.db') })
          .strict()
          .optional(),
        postgres: z
          .object({
            url: secretField.describe(
              'postgres://user:pass@host:5432/db?sslmode=require, from the environment',
            ),
            poolSize: z.number().int().min(1).max(1000).default(10),
            schema: z
              .string()
              .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a plain schema name: lower-case letters, digits and _')
              .default('handoff'),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((s) => !(s.sqlite && s.postgres), {
        message: 'choose one store: storage.sqlite or storage.postgres, not both',
      })
      .default({}),
    sources: z
      .array(sourceSchema)
      .default([])
      .superRefine((sources, ctx) => {
        const seen = new Set<string>();
        const sites = new Set<string>();
        sources.forEach((s, i) => {
          if (seen.has(s.id))
            ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `source id "${s.id}" is used twice` });
          seen.add(s.id);
          if (s.kind !== 'customerio') return;
          // Basic auth names the site first, so a site id must lead to one source.
          if (sites.has(s.siteId))
            ctx.addIssue({
              code: 'custom',
              path: [i, 'siteId'],
              message: `site id "${s.siteId}" is used twice`,
            });
          sites.add(s.siteId);
        });
      }),
    ingest: z
      .object({
        maxFutureSkew: duration.default('24h'),
        cors: z
          .object({
            origins: z
              .array(corsOrigin)
              .default(['*'])
              .refine((o) => !o.includes('*') || o.length === 1, "'*' allows every origin: list it alone")
              .describe(
                "Origins whose browsers may send to /v1/*: ['*'] (the default, as Segment's browser endpoint allows any), a list such as ['https://shop.example.com'], or [] to send no CORS headers.",
              ),
          })
          .strict()
          .default({ origins: ['*'] }),
      })
      .strict()
      .default({ maxFutureSkew: '24h', cors: { origins: ['*'] } }),
    identity: z
      .object({
        email: z
          .object({ stripPlusTag: z.boolean().default(false), removeGmailDots: z.boolean().default(false) })
          .strict()
          .default({ stripPlusTag: false, removeGmailDots: false }),
        phone: z
          .object({
            defaultRegion: z
              .string()
              .refine(isPhoneRegion, 'a two-letter region libphonenumber knows, such as US or GB'),
          })
          .strict()
          .default({ defaultRegion: 'US' }),
        limits: z
          .object({
            userId: z.number().int().min(1).default(1),
            email: z.number().int().min(1).default(5),
            phone: z.number().int().min(1).default(5),
            anonymousId: z.number().int().min(1).default(100),
          })
          .strict()
          .default({ userId: 1, email: 5, phone: 5, anonymousId: 100 }),
        priority: z
          .array(identifierKind)
          .length(4)
          .refine((kinds) => new Set(kinds).size === 4, 'list each of userId, email, phone, anonymousId once')
          .default(['userId', 'email', 'phone', 'anonymousId']),
        mergeOn: z
          .array(z.enum(['identify', 'alias', 'email', 'phone']))
          .default(['identify', 'alias', 'email', 'phone']),
      })
      .strict()
      .default({
        email: { stripPlusTag: false, removeGmailDots: false },
        phone: { defaultRegion: 'US' },
        limits: { userId: 1, email: 5, phone: 5, anonymousId: 100 },
        priority: ['userId', 'email', 'phone', 'anonymousId'],
        mergeOn: ['identify', 'alias', 'email', 'phone'],
      }),
    destinations: z
      .object({
        cordial: z
          .object({
            /** https://api.cordial.io/v2, or https://api.usw2.cordial.io/v2 for that region. */
            baseUrl: z.string().url().default('https://api.cordial.io/v2'),
            apiKey: secretField,
            /** Requests per second the account allows, shared by all audiences. */
            rateLimit: z.number().positive().default(10),
            /** Requests in flight at once. */
            concurrency: z.number().int().min(1).max(64).default(4),
            /** Create a contact (with its email) when an entry finds none. */
            createContacts: z.boolean().default(true),
            /** The account's contact attribute names: list names must differ from them. */
            contactAttributes: z.array(z.string()).default([]),
            /**
             * Large change sets of one list as import jobs (`POST /v2/contactimports`); off when
             * absent. The file is put in the S3 bucket of `s3` (a presigned URL for Cordial), or,
             * without it, served by Handoff at `publicBaseUrl`, which Cordial must then reach.
             */
            bulk: z
              .object({
                /** Handoff's address as Cordial reaches it, e.g. https://handoff.example.com. */
                publicBaseUrl: z.string().url().optional(),
                /**
                 * An S3 bucket for import files (handed to Cordial as presigned URLs) and for the
                 * exports that verify large lists. Credentials: the AWS SDK's default chain.
                 */
                s3: z
                  .object({
                    bucket: z.string().min(3).max(63),
                    /** Key prefix; imports go under `<prefix>imports/`, exports under `<prefix>exports/`. */
                    prefix: z.string().default('handoff/'),
                    region: z.string().min(1),
                    /** An S3-compatible endpoint (path-style), e.g. MinIO; AWS when absent. */
                    endpoint: z.string().url().optional(),
                    /** How long a presigned import URL stays valid (at most 7d). */
                    urlExpiry: duration
                      .default('1d')
                      .refine((d) => {
                        const parsed = parseDuration(d);
                        return !parsed.ok || parsed.value <= 604_800_000;
                      }, 'at most 7d (S3 presigned URL limit)'),
                  })
                  .strict()
                  .optional(),
                /** Cordial account id: `POST /v2/contactexports` requires it (verify of large lists by export). */
                accountId: z.number().int().positive().optional(),
                /** A list with at least this many pending changes in one direction goes as a job. */
                threshold: z.number().int().min(1).default(1000),
                /** Rows in one job's file at most. */
                maxRows: z.number().int().min(1).default(100_000),
                /** Jobs running at Cordial at once. */
                maxJobs: z.number().int().min(1).max(64).default(4),
                /** How often a running job's status is read. */
                pollInterval: duration.default('5s'),
                /** A job still Scheduled, Pending or Throttled this long is reported. */
                stallAfter: duration.default('1h'),
                /** A job with rejected rows splits down to parts of this many rows, then goes one contact at a time. */
                splitBelow: z.number().int().min(1).default(64),
                /** Cordial's suppressTriggers: imports fire no attribute-change messages. */
                suppressTriggers: z.boolean().default(true),
              })
              .strict()
              .refine((b) => b.publicBaseUrl !== undefined || b.s3 !== undefined, {
                message: 'say where Cordial fetches import files: bulk.s3 (a bucket) or bulk.publicBaseUrl',
              })
              .optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    engine: z
      .object({
        /** How often top-percent thresholds are recomputed and their audiences re-ranked. */
        rankingRefresh: duration.default('5m'),
      })
      .strict()
      .default({ rankingRefresh: '5m' }),
    monitoring: z
      .object({
        /** How often the checks are computed and stored while serving. */
        checkInterval: duration.default('1m'),
        /** Warn when an audience's size moves more than this percentage from its trailing 7-day mean. */
        driftThreshold: z.number().positive().default(30),
        /** An exit the destination has not acknowledged within this long is a failure. */
        exitAckDeadline: duration.default('15m'),
        /** Warn when fewer than this percentage of an audience's members are held by a destination. */
        matchRateWarn: z.number().min(0).max(100).default(90),
        /** A wake-up still pending this long after it was due is overdue. */
        overdueWakeupAfter: duration.default('5m'),
        /** The event that counts as a conversion when comparing holdout and treated members. */
        conversionEvent: z.string().min(1).default('Order Completed'),
        /** How long check samples are kept. */
        retention: duration.default('90d'),
        /** Where check status changes are announced without Prometheus: Slack-compatible webhooks. */
        alerts: z
          .array(
            z
              .object({
                webhook: z
                  .object({
                    /** The webhook URL (it carries a token): read from the named environment variable. */
                    url: secretField,
                  })
                  .strict(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({
        checkInterval: '1m',
        driftThreshold: 30,
        exitAckDeadline: '15m',
        matchRateWarn: 90,
        overdueWakeupAfter: '5m',
        conversionEvent: 'Order Completed',
        retention: '90d',
        alerts: [],
      }),
    /** The Customer.io App API, for audiences whose source is a Customer.io segment. */
    customerio: customerIoSection(secretField, duration).optional(),
    audiences: z.array(z.unknown()).default([]),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
