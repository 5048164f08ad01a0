import type { MonitorPorts } from './ports.ts';
import type { CheckResult, CheckStatus } from './checks.ts';
import { worst } from './checks.ts';
import type { CheckName, SeriesPoint } from './ports.ts';
import type { CheckSettings } from './snapshot.ts';
import { takeSnapshot } from './snapshot.ts';

/** What health reads from a running Handoff: its store and configuration (an App satisfies it). */
export interface HealthSource {
  store: MonitorPorts;
  config: CheckSettings;
}

/** One audience's match rate at one destination. */
export interface MatchRate {
  destination: string;
  list: string;
  /** Accepted ÷ eligible; undefined with no eligible member. */
  rate: number | undefined;
  /** Non-held-out members the destination acknowledged holding. */
  accepted: number;
  /** Non-held-out members. */
  eligible: number;
}

/** One audience's health: size over time, flow, delivery and its checks. */
export interface AudienceHealth {
  key: string;
  name: string;
  /** Members now, held out included. */
  size: number;
  heldOut: number;
  /** Stored size samples since `since`, oldest first, ending with the size now. */
  sizeSeries: { at: number; size: number }[];
  /** Enters and exits in [since, now). */
  enters: number;
  exits: number;
  matchRate: MatchRate[];
  /** Members in longer than the ttl; undefined for `ttl: none`. */
  stuck: number | undefined;
  /** Size vs its trailing 7-day mean, as a fraction (0.3 = 30% above); undefined without history. */
  drift: number | undefined;
  sizeMean7d: number | undefined;
  /** Dead letters over all destinations. */
  deadLetters: number;
  /** When a destination last acknowledged a send for it (ms). */
  lastSyncAt: number | undefined;
  /** Worst of `checks`. */
  status: CheckStatus;
  checks: CheckResult[];
}

/** Everything at once: per-audience health and the checks not about one audience. */
export interface MonitorHealth {
  at: number;
  audiences: AudienceHealth[];
  /** Checks not about one audience (overdue wake-ups). */
  checks: CheckResult[];
  wakeups: { pending: number; overdue: number };
  /** Worst of every check. */
  status: CheckStatus;
}

/** Health of every configured audience at `now`, with size samples and flow since `since` (ms). */
export async function monitorHealth(
  app: HealthSource,
  { now, since }: { now: number; since: number },
): Promise<MonitorHealth> {
  const snapshot = await takeSnapshot(app.store, app.config, now);
  const flow = new Map((await app.store.monitor.changeCounts(since, now)).map((c) => [c.audience, c]));
  const audiences: AudienceHealth[] = [];
  for (const a of snapshot.audiences) {
    const series = await app.store.monitor.series('size', a.audience, '', since);
    const lastSyncs = a.destinations.flatMap((d) =>
      d.lastAcknowledgedAt === undefined ? [] : [d.lastAcknowledgedAt],
    );
    audiences.push({
      key: a.audience,
      name: a.name,
      size: a.size,
      heldOut: a.heldOut,
      sizeSeries: [
        ...series.filter((p) => p.at < now).map((p) => ({ at: p.at, size: p.value })),
        { at: now, size: a.size },
      ],
      enters: flow.get(a.audience)?.enters ?? 0,
      exits: flow.get(a.audience)?.exits ?? 0,
      matchRate: a.destinations.map((d) => ({
        destination: d.destination,
        list: d.list,
        rate: d.matchRate,
        accepted: d.accepted,
        eligible: d.eligible,
      })),
      stuck: a.stuck,
      drift: a.drift,
      sizeMean7d: a.sizeMean7d,
      deadLetters: a.destinations.reduce((n, d) => n + d.deadLetters, 0),
      lastSyncAt: lastSyncs.length === 0 ? undefined : Math.max(...lastSyncs),
      status: worst(a.checks.map((c) => c.status)),
      checks: a.checks,
    });
  }
  return {
    at: now,
    audiences,
    checks: snapshot.checks,
    wakeups: snapshot.wakeups,
    status: worst([...audiences.map((a) => a.status), ...snapshot.checks.map((c) => c.status)]),
  };
}

/** Health of every configured audience at `now`; see `monitorHealth`. */
export async function audienceHealth(
  app: HealthSource,
  options: { now: number; since: number },
): Promise<AudienceHealth[]> {
  return (await monitorHealth(app, options)).audiences;
}

/**
 * A stored check series since `since` (ms), oldest first. `check: 'size'` is the audience's size
 * over time. `destination` is for per-destination checks (match_rate, exit_failures,
 * dead_letters), default 'cordial'; `audience` is '' for overdue_wakeups.
 */
export async function checkSeries(
  store: MonitorPorts,
  {
    check,
    audience,
    destination,
    since,
  }: { check: CheckName; audience: string; destination?: string; since: number },
): Promise<SeriesPoint[]> {
  const perDestination = check === 'match_rate' || check === 'exit_failures' || check === 'dead_letters';
  return store.monitor.series(check, audience, perDestination ? (destination ?? 'cordial') : '', since);
}
