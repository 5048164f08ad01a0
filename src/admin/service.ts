import type { AdminServices } from '../app/services.ts';
import { describeDefinition } from '../audiences/describe.ts';
import { neighbours } from '../audiences/graph.ts';
import { destinationTraffic } from '../monitor/audit-traffic.ts';
import { explainProfile, parseProfileRef } from '../engine/explain.ts';
import { describeCause } from '../engine/model.ts';
import { adviseAudience } from '../monitor/advice.ts';
import { groupDeadLetters } from './dead-letters.ts';
import { audienceMatch } from './members.ts';
import { audienceHealth } from '../monitor/health.ts';
import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';
import { dueAt } from '../sync/worker.ts';
import { bulkJobs } from './bulk-jobs.ts';
import type {
  AudienceResponse,
  AudienceSummary,
  AudiencesResponse,
  ProfileResponse,
  SyncResponse,
} from './schemas.ts';

const DESTINATION = 'cordial';
const MINUTE = 60_000;

/** The ranges a dashboard chart can show, and the bucket each is counted in (ms): 24h is per hour. */
export const RANGES = {
  '15m': { rangeMs: 15 * MINUTE, bucketMs: MINUTE / 4 },
  '1h': { rangeMs: 60 * MINUTE, bucketMs: MINUTE },
  '6h': { rangeMs: 360 * MINUTE, bucketMs: 5 * MINUTE },
  '24h': { rangeMs: 1440 * MINUTE, bucketMs: 60 * MINUTE },
  '7d': { rangeMs: 10_080 * MINUTE, bucketMs: 360 * MINUTE },
};
export type Range = keyof typeof RANGES;

interface Window {
  now: number;
  /** Start of the first bucket (aligned to the bucket size). */
  start: number;
  bucketMs: number;
  /** Start of every bucket up to the one holding `now`. */
  buckets: number[];
}

function window(now: number, range: Range): Window {
  const { rangeMs, bucketMs } = RANGES[range];
  const start = Math.floor((now - rangeMs) / bucketMs) * bucketMs;
  const buckets: number[] = [];
  for (let at = start; at <= now; at += bucketMs) buckets.push(at);
  return { now, start, bucketMs, buckets };
}

/** Every bucket of the window with its enters and exits (zero where nothing changed). */
async function changeSeries(services: AdminServices, audience: string, w: Window) {
  const counted = new Map(
    (await services.store.admin.changeBuckets(audience, w.start, w.bucketMs)).map((b) => [b.at, b]),
  );
  return w.buckets.map((at) => ({
    at,
    enters: counted.get(at)?.enters ?? 0,
    exits: counted.get(at)?.exits ?? 0,
  }));
}

/** Size at the end of each bucket, walked back from the size now, plus the size at the window's start. */
function sizeSeries(size: number, changes: { at: number; enters: number; exits: number }[], w: Window) {
  const points: { at: number; size: number }[] = [];
  let after = size;
  for (let i = changes.length - 1; i >= 0; i--) {
    const bucket = changes[i]!;
    points.push({ at: Math.min(bucket.at + w.bucketMs, w.now), size: after });
    after -= bucket.enters - bucket.exits;
  }
  points.push({ at: w.start, size: Math.max(0, after) });
  return points.reverse();
}

async function summaries(services: AdminServices, w: Window, only?: string): Promise<AudienceSummary[]> {
  const sizes = new Map((await services.store.admin.memberCounts()).map((c) => [c.audience, c]));
  const counts = new Map((await services.store.sync.counts(DESTINATION)).map((c) => [c.audience, c]));
  const sends = new Map((await services.store.admin.lastSends(DESTINATION)).map((s) => [s.audience, s]));
  const targets = new Map(services.config.targets.map((t) => [t.audience, t]));
  const health = new Map(
    (await audienceHealth(services, { now: w.now, since: w.start })).map((a) => [a.key, a]),
  );
  const dead = await services.store.sync.deadLetters(DESTINATION);
  const out: AudienceSummary[] = [];
  for (const definition of services.config.audiences) {
    if (only !== undefined && definition.key !== only) continue;
    const size = sizes.get(definition.key)?.members ?? 0;
    const heldOut = sizes.get(definition.key)?.heldOut ?? 0;
    const sync = counts.get(definition.key);
    const target = targets.get(definition.key);
    const checked = health.get(definition.key);
    out.push({
      key: definition.key,
      name: definition.name,
      purpose: definition.purpose,
      size,
      heldOut,
      series: sizeSeries(size, await changeSeries(services, definition.key, w), w),
      syncs: target !== undefined,
      list: target?.target.list ?? null,
      matchRate: checked?.matchRate[0]?.rate ?? null,
      lastSyncAt: checked?.lastSyncAt ?? sends.get(definition.key)?.lastOkAt ?? null,
      status: checked?.status ?? 'pass',
      stuck: checked?.stuck ?? null,
      drift: checked?.drift ?? null,
      checks: (checked?.checks ?? []).map((c) => ({
        check: c.check,
        destination: c.destination,
        status: c.status,
        message: c.message,
      })),
      pending: sync?.pending ?? 0,
      deadLetters: sync?.dead ?? 0,
      unmatched: sync?.unmatched ?? 0,
      advice: adviseAudience({
        checks: checked?.checks ?? [],
        deadLetters: dead
          .filter((d) => d.audience === definition.key)
          .map((d) => ({
            destination: DESTINATION,
            status: d.status,
            errorKey: d.errorKey,
            message: d.message,
          })),
        unmatched: sync?.unmatched ?? 0,
        ttlMs: definition.ttl,
      }),
    });
  }
  return out;
}

/** Every audience: size and its recent series, match rate, last sync, errors. */
export async function audiencesView(services: AdminServices, range: Range): Promise<AudiencesResponse> {
  const w = window(services.clock.now(), range);
  return { now: w.now, range, bucketMs: w.bucketMs, audiences: await summaries(services, w) };
}

const percentile = (sorted: number[], p: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** One audience in depth; not_found when no audience has this key. */
export async function audienceView(
  services: AdminServices,
  key: string,
  range: Range,
): Promise<Result<AudienceResponse>> {
  const definition = services.config.audiences.find((a) => a.key === key);
  if (!definition) {
    return fail({
      code: 'not_found',
      message: `no audience with key ${key}; known: ${services.config.audiences.map((a) => a.key).join(', ')}`,
    });
  }
  const w = window(services.clock.now(), range);
  const [summary] = await summaries(services, w, key);
  const latencies = (await services.store.admin.acknowledged(DESTINATION, w.start, 5_000))
    .filter((a) => a.audience === key)
    .map((a) => Math.max(0, a.at - dueAt(a.desired ? 'enter' : 'exit', a.changedAt, definition)))
    .sort((a, b) => a - b);
  const members = await services.store.admin.sampleMembers(key, 20);
  return ok({
    now: w.now,
    range,
    bucketMs: w.bucketMs,
    audience: {
      ...summary!,
      ttlMs: definition.ttl,
      activationDelayMs: definition.activationDelay,
      holdoutPercent: definition.holdout ?? null,
      channels: definition.channels,
      cadenceMs: definition.cadence === 'realtime' ? null : definition.cadence,
      definition: definition.condition === undefined ? [] : describeDefinition(definition.condition),
      source:
        definition.source === undefined
          ? null
          : `mirrors Customer.io segment ${definition.source.customerio.segmentId}`,
      ...neighbours(services.config.audiences, key),
    },
    match: await audienceMatch(services, key),
    changes: await changeSeries(services, key, w),
    latencyMs: {
      samples: latencies.length,
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      max: latencies.at(-1) ?? null,
    },
    holdout: { treated: summary!.size - summary!.heldOut, heldOut: summary!.heldOut },
    members: members.map((m) => ({ ...m, label: m.label ?? null })),
  });
}

/** How deep an event's properties are shown; deeper parts are replaced by a note saying so. */
const MAX_SHOWN_DEPTH = 32;

/**
 * A value cut at `depth` levels: a body nested thousands deep (an older Handoff stored such) would
 * overflow the stack when the response is serialised, and no one reads that far down anyway.
 */
export function clipDepth(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth <= 0) return `[nested deeper than ${MAX_SHOWN_DEPTH} levels: not shown]`;
  if (Array.isArray(value)) return value.map((v) => clipDepth(v, depth - 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clipDepth(v, depth - 1)]));
}

/** A profile: identifiers, merges, recent events, changes and, per audience, in or out and why. */
export async function profileView(services: AdminServices, ref: string): Promise<Result<ProfileResponse>> {
  const parsed = parseProfileRef(ref, services.config.identity);
  if (!parsed.ok) return parsed;
  const profile =
    'profileId' in parsed.value
      ? await services.store.identity.getProfile(parsed.value.profileId)
      : await services.store.identity.findProfile(parsed.value);
  if (!profile) return fail({ code: 'not_found', message: `no profile is known by ${ref}` });
  const now = services.clock.now();
  const events = await services.store.admin.recentEvents(profile.id, 50);
  const history = await services.store.audiences.changesOf(profile.id);
  const changes = [...history].reverse().slice(0, 50);
  const verdicts = await explainProfile(services.store, services.audiences, profile.id, now);
  const qualified = new Map<string, number>();
  for (const c of history) {
    if (c.change === 'exit') qualified.delete(c.audience);
    else if (c.cause.kind !== 'event') qualified.set(c.audience, c.at);
    else {
      const [event] = await services.store.events.readAfter(c.cause.offset - 1, 1);
      qualified.set(c.audience, event?.offset === c.cause.offset ? event.timestamp : c.at);
    }
  }
  return ok({
    now,
    profile: {
      ...profile,
      traits: Object.fromEntries(
        Object.entries(profile.traits).map(([k, t]) => [
          k,
          { ...t, value: clipDepth(t.value, MAX_SHOWN_DEPTH) },
        ]),
      ),
    },
    events: events.map((e) => {
      const m = e.message as { properties?: Record<string, unknown>; traits?: Record<string, unknown> };
      return {
        offset: e.offset,
        type: e.type,
        name: e.name,
        timestamp: e.timestamp,
        sourceId: e.sourceId,
        properties: clipDepth(m.properties ?? m.traits ?? {}, MAX_SHOWN_DEPTH) as Record<string, unknown>,
      };
    }),
    changes: changes.map((c) => ({
      audience: c.audience,
      change: c.change,
      at: c.at,
      cause: describeCause(c.cause),
    })),
    memberships: verdicts.map((v) => ({
      audience: v.audience,
      name: v.name,
      member: v.member,
      since: v.since ?? null,
      qualifiedAt: v.member ? (qualified.get(v.audience) ?? null) : null,
      heldOut: v.heldOut ?? false,
      nextChangeAt: v.nextChangeAt,
      explanation: v.explanation,
    })),
    lists: await services.store.admin.listsOf(DESTINATION, profile.id),
  });
}

/** The queue per syncing audience and list, those not synced yet included (all zeros). */
async function queue(services: AdminServices): Promise<SyncResponse['queue']> {
  const counted = await services.store.sync.counts(DESTINATION);
  const missing = services.config.targets
    .filter((t) => !counted.some((c) => c.audience === t.audience && c.list === t.target.list))
    .map((t) => ({
      audience: t.audience,
      list: t.target.list,
      members: 0,
      pending: 0,
      dead: 0,
      unmatched: 0,
    }));
  // Unmatched-only rows carry no list; the configured list names them.
  const named = counted.map((c) => ({
    ...c,
    list: c.list || (services.config.targets.find((t) => t.audience === c.audience)?.target.list ?? ''),
  }));
  return [...named, ...missing].sort((a, b) => a.audience.localeCompare(b.audience));
}

/** Cordial sync: queue per audience, sends per minute over the last hour, 429s, dead letters. */
export async function syncView(services: AdminServices): Promise<SyncResponse> {
  const w = window(services.clock.now(), '1h');
  const counted = new Map(
    (await services.store.admin.sendBuckets(DESTINATION, w.start, w.bucketMs)).map((b) => [b.at, b]),
  );
  const requested = new Map(
    (await services.store.requests.buckets(DESTINATION, w.start, w.bucketMs)).map((b) => [b.at, b]),
  );
  const sends = w.buckets.map((at) => ({
    at,
    ok: counted.get(at)?.ok ?? 0,
    retried: counted.get(at)?.retried ?? 0,
    dead: counted.get(at)?.dead ?? 0,
    rateLimited: requested.get(at)?.rateLimited ?? 0,
    requests: requested.get(at)?.requests ?? 0,
  }));
  const [traffic] = await destinationTraffic(services.store, [DESTINATION], {
    since: w.start,
    until: w.now + 1,
  });
  const recent = sends.filter((s) => s.at >= w.now - 5 * MINUTE);
  const dead = await services.store.sync.deadLetters(DESTINATION);
  return {
    now: w.now,
    configured: services.sync !== undefined,
    nextDueAt: await services.store.sync.nextDueAt(DESTINATION),
    queue: await queue(services),
    deadLetterGroups: groupDeadLetters(dead),
    bulkJobs: await bulkJobs(services.store.bulk, DESTINATION),
    bucketMs: w.bucketMs,
    sends,
    sendRatePerMinute: recent.reduce((n, s) => n + s.ok, 0) / 5,
    rateLimited: sends.reduce((n, s) => n + s.rateLimited, 0),
    traffic: {
      requests: traffic!.requests,
      byMethod: traffic!.byMethod,
      byOutcome: traffic!.byOutcome,
      rateLimited: traffic!.rateLimited,
      items: traffic!.items,
      deadLetters: traffic!.deadLetters,
    },
    deadLetters: dead.slice(0, 200).map((d) => ({
      audience: d.audience,
      contact: d.contact,
      list: d.list,
      desired: d.desired,
      attempts: d.attempts,
      status: d.status ?? null,
      errorKey: d.errorKey ?? null,
      message: d.message,
      at: d.at,
    })),
  };
}

/** Dead letters back to the queue: every one, or one syncing audience's. */
export async function retryDeadLetters(
  services: AdminServices,
  request: { audience?: string | undefined },
): Promise<Result<{ queued: number }>> {
  const { audience } = request;
  if (audience !== undefined && !services.config.targets.some((t) => t.audience === audience)) {
    return fail({
      code: 'not_found',
      message: `no audience ${audience} syncs to Cordial; those that do: ${services.config.targets.map((t) => t.audience).join(', ') || 'none'}`,
    });
  }
  return ok({ queued: await services.store.sync.retry(DESTINATION, audience) });
}
