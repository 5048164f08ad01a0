import { z } from 'zod';
import { bulkJobsView } from './bulk-job-schema.ts';

/**
 * The admin API's wire types, each defined once: handlers are typed from them, requests are
 * validated by them and the OpenAPI document is generated from them.
 */

const ms = z.number().int().describe('milliseconds since the Unix epoch');

export const rangeQuery = z.strictObject({
  range: z
    .enum(['15m', '1h', '6h', '24h', '7d'])
    .default('1h')
    .describe('how far back the series reach; counted per 15s, 1m, 5m, 1h and 6h respectively'),
});

export const sizePoint = z.object({ at: ms, size: z.number().int() });
export const changeBucket = z.object({ at: ms, enters: z.number().int(), exits: z.number().int() });

export const audienceSummary = z.object({
  key: z.string(),
  name: z.string(),
  purpose: z.string(),
  /** Members now, held-out members included. */
  size: z.number().int(),
  heldOut: z.number().int(),
  series: z.array(sizePoint).describe('size at the end of each bucket, oldest first'),
  syncs: z.boolean().describe('whether the audience is kept in step with a Cordial list'),
  list: z.string().nullable(),
  matchRate: z
    .number()
    .nullable()
    .describe(
      'share (0–1) of treated members the destination acknowledged holding; null when it does not sync or has none',
    ),
  lastSyncAt: ms.nullable(),
  status: z.enum(['pass', 'warn', 'fail']).describe('the worst of the checks'),
  stuck: z.number().int().nullable().describe('members in longer than the ttl; null for ttl none'),
  drift: z
    .number()
    .nullable()
    .describe('size vs its trailing 7-day mean, as a fraction; null without history'),
  checks: z.array(
    z.object({
      check: z.string(),
      destination: z.string(),
      status: z.enum(['pass', 'warn', 'fail']),
      message: z.string(),
    }),
  ),
  pending: z.number().int(),
  deadLetters: z.number().int(),
  unmatched: z.number().int(),
  advice: z
    .array(
      z.object({
        status: z.enum(['warn', 'fail']),
        check: z.string().describe('the check it comes from, or `unmatched`'),
        destination: z.string(),
        count: z.number(),
        cause: z.string().describe('what is wrong, in words'),
        next: z.string().describe('what to do about it'),
      }),
    )
    .describe('every failing or warning finding in words, worst first'),
});

export const audiencesResponse = z.object({
  now: ms,
  range: z.string(),
  bucketMs: z.number().int(),
  audiences: z.array(audienceSummary),
});

export const audienceParams = z.strictObject({ key: z.string().min(1).describe('the audience key') });

const percentiles = z.object({
  samples: z.number().int(),
  p50: z.number().nullable(),
  p95: z.number().nullable(),
  max: z.number().nullable(),
});

const standing = z.enum(['held', 'pending', 'no_identifier', 'refused', 'held_out']);

export const matchBreakdown = z
  .object({
    destination: z.string(),
    list: z.string(),
    held: z.number().int().describe('acknowledged on the list'),
    pending: z.number().int().describe('queued, or not yet recorded by the sync'),
    noIdentifier: z.number().int().describe('no email, so the list cannot hold them'),
    refused: z.number().int().describe('dead-lettered: the destination refused them'),
    heldOut: z.number().int().describe('kept out as a control group'),
  })
  .describe('where every member stands at the destination');
export type MatchBreakdown = z.infer<typeof matchBreakdown>;

export const audienceResponse = z.object({
  now: ms,
  range: z.string(),
  bucketMs: z.number().int(),
  audience: audienceSummary.extend({
    ttlMs: z.number().nullable(),
    activationDelayMs: z.number(),
    holdoutPercent: z.number().nullable(),
    channels: z.array(z.string()),
    cadenceMs: z.number().nullable().describe('ms between syncs; null for realtime'),
    definition: z
      .array(z.object({ depth: z.number().int(), text: z.string() }))
      .describe('the condition read aloud, one line per node, in the words explanations use'),
    source: z.string().nullable().describe('where a sourced audience’s membership comes from'),
    dependencies: z.array(z.string()).describe('audiences this one refers to (in_audience)'),
    dependents: z.array(z.string()).describe('audiences that refer to this one'),
  }),
  match: matchBreakdown.nullable().describe('null when the audience does not sync'),
  changes: z.array(changeBucket).describe('enters and exits per bucket, every bucket of the range'),
  latencyMs: percentiles.describe(
    'from when a change was due (after any activation delay) to Cordial acknowledging it, over the range',
  ),
  holdout: z.object({ treated: z.number().int(), heldOut: z.number().int() }),
  members: z.array(
    z.object({ profileId: z.string(), label: z.string().nullable(), since: ms, heldOut: z.boolean() }),
  ),
});

export const profileParams = z.strictObject({
  ref: z
    .string()
    .min(1)
    .describe('a userId, or email:<address>, phone:<number>, anonymousId:<id>, profile:<id>'),
});

interface ExplanationWire {
  text: string;
  value: boolean;
  nextChangeAt?: number | null | undefined;
  children: ExplanationWire[];
}
const explanation: z.ZodType<ExplanationWire> = z.lazy(() =>
  z.object({
    text: z.string(),
    value: z.boolean(),
    nextChangeAt: z.number().nullable().optional(),
    children: z.array(explanation),
  }),
);

export const profileResponse = z.object({
  now: ms,
  profile: z.object({
    id: z.string(),
    createdAt: ms,
    identifiers: z.array(z.object({ kind: z.string(), value: z.string(), address: z.string().optional() })),
    traits: z.record(z.string(), z.object({ value: z.unknown(), ts: ms })),
    merges: z.array(z.object({ from: z.string(), into: z.string(), cause: z.string(), at: ms })),
    invalid: z.object({ email: z.number().int(), phone: z.number().int() }),
  }),
  events: z
    .array(
      z.object({
        offset: z.number().int(),
        type: z.string(),
        name: z.string().nullable(),
        timestamp: ms,
        sourceId: z.string(),
        properties: z.record(z.string(), z.unknown()),
      }),
    )
    .describe('the newest events, newest first'),
  changes: z
    .array(z.object({ audience: z.string(), change: z.enum(['enter', 'exit']), at: ms, cause: z.string() }))
    .describe('membership changes, newest first'),
  memberships: z.array(
    z.object({
      audience: z.string(),
      name: z.string(),
      member: z.boolean(),
      since: ms.nullable().describe('when Handoff processed the entry'),
      qualifiedAt: ms
        .nullable()
        .describe(
          'when the person qualified: the time of the event that made them enter, otherwise when the entry took effect',
        ),
      heldOut: z.boolean(),
      nextChangeAt: ms.nullable(),
      explanation,
    }),
  ),
  lists: z
    .array(
      z.object({
        audience: z.string(),
        list: z.string(),
        contact: z.string(),
        wanted: z.boolean().describe('whether Handoff wants the contact on the list'),
        held: z.boolean().describe('whether Cordial acknowledged holding the contact on the list'),
        state: z.string().describe('pending, done or dead'),
      }),
    )
    .describe(
      'the Cordial lists the person is on (or is being added to or removed from), by the sync ledger',
    ),
});

export const deadLetterGroup = z.object({
  reason: z.string().describe('what went wrong, in words'),
  status: z.number().int().nullable(),
  errorKey: z.string().nullable(),
  message: z.string(),
  retryHelps: z
    .boolean()
    .describe('false when the destination refused the request itself (a 4xx other than 408/429)'),
  items: z.array(z.object({ contact: z.string(), list: z.string(), audience: z.string() })),
});
export type DeadLetterGroup = z.infer<typeof deadLetterGroup>;

export const syncResponse = z.object({
  deadLetterGroups: z
    .array(deadLetterGroup)
    .describe('the dead letters grouped by reason, largest group first'),
  now: ms,
  configured: z.boolean().describe('whether Cordial sync runs in this server'),
  nextDueAt: ms.nullable(),
  queue: z.array(
    z.object({
      audience: z.string(),
      list: z.string(),
      members: z.number().int(),
      pending: z.number().int(),
      dead: z.number().int(),
      unmatched: z.number().int(),
    }),
  ),
  bucketMs: z.number().int(),
  sends: z
    .array(
      z.object({
        at: ms,
        ok: z.number().int(),
        retried: z.number().int(),
        dead: z.number().int(),
        rateLimited: z.number().int().describe('requests answered 429 (responses, not items)'),
        requests: z.number().int().describe('HTTP requests sent'),
      }),
    )
    .describe('send outcomes per minute over the last hour, every bucket'),
  sendRatePerMinute: z.number().describe('acknowledged items per minute over the last 5 minutes'),
  rateLimited: z.number().int().describe('429 responses over the last hour (responses, not items)'),
  traffic: z
    .object({
      requests: z.number().int(),
      byMethod: z.record(z.string(), z.number().int()),
      byOutcome: z.record(z.string(), z.number().int()),
      rateLimited: z.number().int(),
      items: z.object({ ok: z.number().int(), retry: z.number().int(), dead: z.number().int() }),
      deadLetters: z.number().int(),
    })
    .describe(
      'HTTP requests sent over the last hour by method and outcome, as Cordial saw them; items settled; dead letters now',
    ),
  bulkJobs: bulkJobsView,
  deadLetters: z.array(
    z.object({
      audience: z.string(),
      contact: z.string(),
      list: z.string(),
      desired: z.boolean(),
      attempts: z.number().int(),
      status: z.number().int().nullable(),
      errorKey: z.string().nullable(),
      message: z.string(),
      at: ms,
    }),
  ),
});

export const retryBody = z
  .strictObject({
    audience: z.string().min(1).optional().describe("only this audience's dead letters"),
    all: z.literal(true).optional().describe('every dead letter'),
  })
  .refine((b) => (b.audience === undefined) !== (b.all === undefined), {
    message: 'send either {"all": true} or {"audience": "<key>"}',
  });

export const retryResponse = z.object({ queued: z.number().int() });

export const quarantineResponse = z.object({
  items: z
    .array(
      z.object({
        offset: z.number().int().describe("the event's offset in the log, where it stays"),
        sourceId: z.string(),
        messageId: z.string(),
        type: z.string(),
        error: z.object({
          code: z.string().describe('the error code, or processing_failed when the error had none'),
          message: z.string(),
        }),
        quarantinedAt: ms,
        attempts: z.number().int().describe('times processing it failed'),
      }),
    )
    .describe('events set aside because processing them failed every time, oldest first'),
});

export const quarantineRetryBody = z
  .strictObject({
    offsets: z.array(z.number().int().positive()).min(1).optional().describe('these quarantined events'),
    all: z.literal(true).optional().describe('every quarantined event'),
  })
  .refine((b) => (b.offsets === undefined) !== (b.all === undefined), {
    message: 'send either {"all": true} or {"offsets": [<offset>, ...]}',
  });

export const quarantineRetryResponse = z.object({
  marked: z.number().int().describe('events marked for retry; the processor takes them up at its next step'),
});

export const errorResponse = z.object({
  success: z.literal(false),
  error: z.object({ code: z.string(), message: z.string() }),
});

export type AudiencesResponse = z.infer<typeof audiencesResponse>;
export type AudienceResponse = z.infer<typeof audienceResponse>;
export type AudienceSummary = z.infer<typeof audienceSummary>;
export type ProfileResponse = z.infer<typeof profileResponse>;
export type SyncResponse = z.infer<typeof syncResponse>;
export type QuarantineResponse = z.infer<typeof quarantineResponse>;

export const profilesQuery = z.strictObject({
  standing: standing.optional().describe('only members standing so at Cordial'),
  alsoIn: z.string().min(1).optional().describe('only members who are in this audience too'),
  format: z.enum(['json', 'csv']).default('json').describe('csv downloads the list'),
});

export const profilesResponse = z.object({
  audience: z.string(),
  standing: standing.nullable(),
  alsoIn: z.string().nullable(),
  profiles: z.array(
    z.object({
      profileId: z.string(),
      label: z.string().nullable(),
      since: ms,
      standing: standing
        .nullable()
        .describe('null when the audience does not sync and the member is not held out'),
    }),
  ),
});
export type ProfilesResponse = z.infer<typeof profilesResponse>;

export const clusterResponse = z.object({
  now: ms,
  leases: z
    .array(
      z.object({
        name: z.string().describe('the background job: processor, sync:cordial, customerio-segments, monitor'),
        holder: z.string().describe('the process that holds (or last held) it: host:pid:tag'),
        epoch: z.number().int().describe('raised each time another tenure begins'),
        expiresAt: ms.describe('when it lapses unless its holder renews it (the database clock)'),
        expired: z.boolean().describe('whether it had lapsed when read: no process runs the job'),
      }),
    )
    .describe('every job lease, by name; each job runs in the one process holding its lease'),
});
export type ClusterResponse = z.infer<typeof clusterResponse>;

export const overlapResponse = z.object({
  audiences: z.array(z.object({ key: z.string(), size: z.number().int() })),
  pairs: z
    .array(z.object({ a: z.string(), b: z.string(), members: z.number().int() }))
    .describe('members in both audiences, for every pair sharing any (a before b)'),
});
export type OverlapResponse = z.infer<typeof overlapResponse>;

const deadLetterKey = z.strictObject({
  contact: z.string().min(1).describe('the contact key, e.g. email:ann@example.com'),
  list: z.string().min(1),
});

export const deadLetterActionBody = z.strictObject({
  items: z.array(deadLetterKey).min(1).max(10_000),
  note: z.string().max(500).optional().describe('why, kept in the sync log with a skip'),
});
export const retriedResponse = z.object({ retried: z.number().int() });
export const skippedResponse = z.object({ skipped: z.number().int() });
