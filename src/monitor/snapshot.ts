import type { AudienceDefinition } from '../audiences/index.ts';
import type { MonitorPorts } from './ports.ts';
import type { AudienceTarget } from '../sync/config.ts';
import type { CheckResult } from './checks.ts';
import {
  DRIFT_WINDOW_MS,
  deadLetterCheck,
  driftCheck,
  exitFailureCheck,
  matchRateCheck,
  overdueWakeupCheck,
  quarantineCheck,
  sourcePollCheck,
  stuckCheck,
  stuckCutoff,
  trailingMean,
  drift as driftOf,
  matchRate,
} from './checks.ts';
import type { MonitoringConfig } from './config.ts';
import type { CheckSample } from './ports.ts';

/** What the checks need from the configuration. */
export interface CheckSettings {
  audiences: readonly AudienceDefinition[];
  targets: readonly AudienceTarget[];
  monitoring: MonitoringConfig;
  /** Poll interval of Customer.io-sourced audiences with a realtime cadence. */
  customerio?: { pollEveryMs: number } | undefined;
}

/** One audience's state at one destination. */
export interface DestinationState {
  destination: string;
  list: string;
  /** Non-held-out members: who the destination should hold. */
  eligible: number;
  /** Of those, how many it acknowledged holding. */
  accepted: number;
  matchRate: number | undefined;
  exitFailures: number;
  deadLetters: number;
  /** When it last acknowledged a send for this audience (ms). */
  lastAcknowledgedAt: number | undefined;
}

/** One audience at one moment, with its checks. */
export interface AudienceState {
  audience: string;
  name: string;
  ttlMs: number | null;
  size: number;
  heldOut: number;
  /** Mean size over the trailing 7 days of samples; undefined without samples. */
  sizeMean7d: number | undefined;
  drift: number | undefined;
  /** Members in longer than the ttl; undefined for `ttl: none`. */
  stuck: number | undefined;
  destinations: DestinationState[];
  checks: CheckResult[];
}

/** Every check at one moment. */
export interface Snapshot {
  at: number;
  audiences: AudienceState[];
  wakeups: { pending: number; overdue: number };
  /** Checks not about one audience (overdue wake-ups, quarantined events). */
  checks: CheckResult[];
}

/** Computes every check at `now` from the store's current state and the stored size series. */
export async function takeSnapshot(
  store: MonitorPorts,
  settings: CheckSettings,
  now: number,
): Promise<Snapshot> {
  const m = store.monitor;
  const { monitoring } = settings;
  const counts = new Map((await m.audienceCounts()).map((c) => [c.audience, c]));
  const cutoffs = new Map<string, number>();
  for (const a of settings.audiences) {
    const cutoff = stuckCutoff(now, a.ttl);
    if (cutoff !== undefined) cutoffs.set(a.key, cutoff);
  }
  const stuck = await m.overstayed(cutoffs);
  const destinations = [...new Set(settings.targets.map((t) => t.destination))];
  const perDestination = new Map<
    string,
    {
      accepted: Map<string, number>;
      exits: Map<string, number>;
      dead: Map<string, number>;
      last: Map<string, number>;
    }
  >();
  for (const d of destinations) {
    perDestination.set(d, {
      accepted: new Map((await m.matchCounts(d)).map((r) => [r.audience, r.accepted])),
      exits: await m.unacknowledgedExits(d, now - monitoring.exitAckDeadlineMs),
      dead: await m.deadCounts(d),
      last: await m.lastAcknowledged(d),
    });
  }

  const audiences: AudienceState[] = [];
  for (const a of settings.audiences) {
    const size = counts.get(a.key)?.members ?? 0;
    const heldOut = counts.get(a.key)?.heldOut ?? 0;
    const history = await m.series('size', a.key, '', now - DRIFT_WINDOW_MS);
    const mean = trailingMean(history, now);
    const checks: CheckResult[] = [driftCheck(a.key, size, mean, monitoring.driftThreshold)];
    const stuckCount = a.ttl === null ? undefined : (stuck.get(a.key) ?? 0);
    checks.push(stuckCheck(a.key, stuckCount, a.ttl));
    if (a.source !== undefined) {
      // Three missed polls in a row: the mirror is stale.
      const interval = a.cadence === 'realtime' ? (settings.customerio?.pollEveryMs ?? 300_000) : a.cadence;
      const polls = await store.sources.polls(a.key, now - 3 * interval);
      const complete = polls.filter((p) => p.outcome !== 'failed').at(-1);
      const latest = polls.at(-1);
      const held = await store.sources.held(a.key);
      checks.push(
        sourcePollCheck(
          a.key,
          {
            lastCompleteAt: complete?.at,
            lastError: latest?.outcome === 'failed' ? latest.error : undefined,
            heldExits: held?.profileIds.length ?? 0,
          },
          now,
          3 * interval,
        ),
      );
    }
    const states: DestinationState[] = [];
    for (const t of settings.targets.filter((t) => t.audience === a.key)) {
      const d = perDestination.get(t.destination)!;
      const eligible = size - heldOut;
      const accepted = d.accepted.get(a.key) ?? 0;
      const exitFailures = d.exits.get(a.key) ?? 0;
      const deadLetters = d.dead.get(a.key) ?? 0;
      states.push({
        destination: t.destination,
        list: t.target.list,
        eligible,
        accepted,
        matchRate: matchRate(accepted, eligible),
        exitFailures,
        deadLetters,
        lastAcknowledgedAt: d.last.get(a.key),
      });
      checks.push(
        matchRateCheck({
          audience: a.key,
          destination: t.destination,
          accepted,
          members: eligible,
          warnBelow: monitoring.matchRateWarn,
        }),
        exitFailureCheck(a.key, t.destination, exitFailures, monitoring.exitAckDeadlineMs),
        deadLetterCheck(a.key, t.destination, deadLetters),
      );
    }
    audiences.push({
      audience: a.key,
      name: a.name,
      ttlMs: a.ttl,
      size,
      heldOut,
      sizeMean7d: mean,
      drift: driftOf(size, mean),
      stuck: stuckCount,
      destinations: states,
      checks,
    });
  }
  const wakeups = await m.wakeups(now - monitoring.overdueWakeupAfterMs);
  return {
    at: now,
    audiences,
    wakeups,
    checks: [
      overdueWakeupCheck(wakeups.overdue, monitoring.overdueWakeupAfterMs),
      quarantineCheck(await store.quarantine.count()),
    ],
  };
}

/** The samples a snapshot is stored as: each audience's size, and every check with a value. */
export function samplesOf(snapshot: Snapshot): CheckSample[] {
  const samples: CheckSample[] = [];
  for (const a of snapshot.audiences) {
    samples.push({ check: 'size', audience: a.audience, destination: '', at: snapshot.at, value: a.size });
  }
  for (const c of [...snapshot.audiences.flatMap((a) => a.checks), ...snapshot.checks]) {
    // Infinity (an empty audience that filled) cannot be stored as a number; the size series tells it.
    if (c.value === undefined || !Number.isFinite(c.value)) continue;
    samples.push({
      check: c.check,
      audience: c.audience,
      destination: c.destination,
      at: snapshot.at,
      value: c.value,
    });
  }
  return samples;
}
