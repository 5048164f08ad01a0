// The Customer.io App API connection that sourced audiences poll through, and its webhooks.
import { z } from 'zod';

/** The App API's origin in each data region; `baseUrl` overrides it (tests, proxies). */
export const APP_API_REGIONS = {
  us: 'https://api.customer.io/v1',
  eu: 'https://api-eu.customer.io/v1',
} as const;

/** The most members a membership page may hold (the App API's `limit` maximum). */
export const MAX_PAGE_SIZE = 30_000;

export interface CustomerIoConfig {
  /** App API base, ending in /v1. */
  baseUrl: string;
  appApiKey: { env: string; value: string | undefined };
  /** The secret campaign webhooks must send in `webhookHeader`. */
  webhookSecret: { env: string; value: string | undefined };
  webhookHeader: string;
  /** How often a `realtime` sourced audience is polled (webhooks fill the gaps). */
  pollEveryMs: number;
  pageSize: number;
  /** Requests per second to the App API (its limit is 10). */
  requestsPerSecond: number;
  /** Default largest share of members one poll may remove before it waits for confirmation. */
  maxRemovalShare: number;
}

/** The `customerio` section of handoff.yaml, given the schema's secret and duration fields. */
export const customerIoSection = <S extends z.ZodType>(secret: S, duration: z.ZodString) =>
  z
    .object({
      /** Where the workspace lives: `us` (api.customer.io) or `eu` (api-eu.customer.io). */
      region: z.enum(['us', 'eu']).default('us'),
      /** Overrides the region's App API base, e.g. a proxy; must end in /v1. */
      baseUrl: z.string().url().optional(),
      /** An App API key (Bearer), from Customer.io's Account Settings → API Credentials. */
      appApiKey: secret,
      /** The shared secret campaign webhook actions send; generated on first start when unset. */
      webhookSecret: secret.optional(),
      /** The header campaign webhook actions carry the secret in. */
      webhookHeader: z
        .string()
        .regex(/^[A-Za-z0-9-]+$/, 'an HTTP header name such as X-Handoff-Secret')
        .default('X-Handoff-Secret'),
      /** How often audiences with a `realtime` cadence are polled; others poll on their cadence. */
      pollEvery: duration.default('5m'),
      /** Members per membership page (the App API allows up to 30000). */
      pageSize: z.number().int().min(1).max(MAX_PAGE_SIZE).default(MAX_PAGE_SIZE),
      /** App API requests per second; Customer.io allows 10. */
      requestsPerSecond: z.number().positive().max(10).default(10),
      /** A poll that would remove more than this share (0–1) of an audience waits for `handoff sync confirm`. */
      maxRemovalShare: z.number().gt(0).max(1).default(0.5),
    })
    .strict();
