import type { CheckResult, CheckStatus } from './checks.ts';
import { worst } from './checks.ts';
import type { HealthSource, MatchRate } from './health.ts';
import { monitorHealth } from './health.ts';
import type { DestinationTraffic } from './audit-traffic.ts';
import { destinationTraffic } from './audit-traffic.ts';
import type { Difference, Proportion } from './stats.ts';
import { difference, wilson } from './stats.ts';

/** Holdout vs treated: the share of each group that converted after entering, and the lift. */
export interface Conversion {
  event: string;
  /** Members sent to destinations. */
  treated: Proportion | undefined;
  /** The control group. */
  holdout: Proportion | undefined;
  /** treated − holdout, with a 95% interval; an interval above 0 reads as incremental. */
  lift: Difference | undefined;
}

/** One audience in the audit. */
export interface AuditAudience {
  key: string;
  name: string;
  size: number;
  heldOut: number;
  /** The first stored size in the period (undefined without samples), and size now minus it. */
  sizeAtStart: number | undefined;
  trend: number | undefined;
  sizeMean7d: number | undefined;
  drift: number | undefined;
  enters: number;
  exits: number;
  matchRate: MatchRate[];
  stuck: number | undefined;
  deadLetters: number;
  conversion: Conversion;
  status: CheckStatus;
  checks: CheckResult[];
}

/** The audit of every audience over a period, with a verdict. */
export interface AuditReport {
  generatedAt: number;
  since: number;
  status: CheckStatus;
  audiences: AuditAudience[];
  /** Requests, 429s, items and dead letters per destination over the period. */
  destinations: DestinationTraffic[];
  /** Checks not about one audience. */
  checks: CheckResult[];
  /** Every check, one line each, audiences first. */
  lines: CheckResult[];
  counts: Record<CheckStatus, number>;
}

/** Builds the audit at `now` for the period since `since` (ms). */
export async function buildAudit(
  app: HealthSource,
  { now, since }: { now: number; since: number },
): Promise<AuditReport> {
  const health = await monitorHealth(app, { now, since });
  const event = app.config.monitoring.conversionEvent;
  const conversions = new Map(
    (await app.store.monitor.conversions(event, since)).map((c) => [c.audience, c]),
  );
  const audiences = health.audiences.map((a): AuditAudience => {
    const start = a.sizeSeries.length > 1 ? a.sizeSeries[0]!.size : undefined;
    const c = conversions.get(a.key);
    const treated = c && wilson(c.treatedConverted, c.treated);
    const holdout = c && wilson(c.heldOutConverted, c.heldOut);
    return {
      key: a.key,
      name: a.name,
      size: a.size,
      heldOut: a.heldOut,
      sizeAtStart: start,
      trend: start === undefined ? undefined : a.size - start,
      sizeMean7d: a.sizeMean7d,
      drift: a.drift,
      enters: a.enters,
      exits: a.exits,
      matchRate: a.matchRate,
      stuck: a.stuck,
      deadLetters: a.deadLetters,
      conversion: { event, treated, holdout, lift: difference(treated, holdout) },
      status: a.status,
      checks: a.checks,
    };
  });
  const lines = [...audiences.flatMap((a) => a.checks), ...health.checks];
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const l of lines) counts[l.status]++;
  return {
    generatedAt: now,
    since,
    status: worst(lines.map((l) => l.status)),
    audiences,
    destinations: await destinationTraffic(
      app.store,
      [...new Set(app.config.targets.map((t) => t.destination))],
      { since, until: now + 1 },
    ),
    checks: health.checks,
    lines,
    counts,
  };
}

/** The process exit code for a report: 1 when any check fails, so cron and CI notice. */
export const auditExitCode = (report: AuditReport): number => (report.status === 'fail' ? 1 : 0);
