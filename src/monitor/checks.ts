import type { CheckName, SeriesPoint } from './ports.ts';

/** How a check reads: pass, worth a look, or broken. */
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** One check of one audience (and destination, where it has one) at one moment. */
export interface CheckResult {
  check: CheckName;
  audience: string;
  /** '' when the check is not about one destination. */
  destination: string;
  /** The measured value: a fraction for rates and drift, a count otherwise; undefined when there is nothing to measure. */
  value: number | undefined;
  status: CheckStatus;
  message: string;
}

export const DAY_MS = 86_400_000;
/** Size drift compares the size with its mean over this trailing window. */
export const DRIFT_WINDOW_MS = 7 * DAY_MS;

/**
 * Members the destination accepted ÷ members it should hold; undefined for an audience with no
 * such members (nothing to match).
 */
export function matchRate(accepted: number, members: number): number | undefined {
  return members === 0 ? undefined : Math.min(1, accepted / members);
}

/** The mean of the values in [now - windowMs, now); undefined with no sample there. */
export function trailingMean(
  points: readonly SeriesPoint[],
  now: number,
  windowMs = DRIFT_WINDOW_MS,
): number | undefined {
  let sum = 0;
  let n = 0;
  for (const p of points) {
    if (p.at >= now - windowMs && p.at < now) {
      sum += p.value;
      n++;
    }
  }
  return n === 0 ? undefined : sum / n;
}

/**
 * Relative change of `size` from `mean`: 0.5 is 50% above it, -0.5 half of it. Undefined without
 * a mean; a mean of 0 gives 0 for size 0 and Infinity otherwise (an empty audience that filled).
 */
export function drift(size: number, mean: number | undefined): number | undefined {
  if (mean === undefined) return undefined;
  if (mean === 0) return size === 0 ? 0 : Infinity;
  return (size - mean) / mean;
}

/** Memberships that started before this moment have outstayed `ttlMs`; undefined for `ttl: none`. */
export function stuckCutoff(now: number, ttlMs: number | null): number | undefined {
  return ttlMs === null ? undefined : now - ttlMs;
}

/** Whether a member who joined at `since` is stuck at `now` under `ttlMs`. */
export const isStuck = (since: number, now: number, ttlMs: number | null): boolean =>
  ttlMs !== null && since < now - ttlMs;

const pct = (fraction: number): string =>
  Number.isFinite(fraction) ? `${(fraction * 100).toFixed(1)}%` : '∞';

/** Members of `audience` and how many `destination` accepted; the check warns below `warnBelow` (a fraction). */
export interface MatchRateInput {
  audience: string;
  destination: string;
  accepted: number;
  members: number;
  warnBelow: number;
}

/** The match rate check: warns below `warnBelow`. */
export function matchRateCheck({
  audience,
  destination,
  accepted,
  members,
  warnBelow,
}: MatchRateInput): CheckResult {
  const value = matchRate(accepted, members);
  const status: CheckStatus = value !== undefined && value < warnBelow ? 'warn' : 'pass';
  const message =
    value === undefined
      ? 'no members to match'
      : `${accepted} of ${members} members held by ${destination} (${pct(value)}; warn below ${pct(warnBelow)})`;
  return { check: 'match_rate', audience, destination, value, status, message };
}

/** The size drift check: warns when |drift| exceeds `threshold`. */
export function driftCheck(
  audience: string,
  size: number,
  mean: number | undefined,
  threshold: number,
): CheckResult {
  const value = drift(size, mean);
  const status: CheckStatus = value !== undefined && Math.abs(value) > threshold ? 'warn' : 'pass';
  const message =
    value === undefined || mean === undefined
      ? `size ${size}; no 7-day history yet`
      : `size ${size} vs 7-day mean ${mean.toFixed(1)} (${value >= 0 ? '+' : ''}${pct(value)}; threshold ±${pct(threshold)})`;
  return { check: 'size_drift', audience, destination: '', value, status, message };
}

/** Stuck members fail: an audience someone should have left (a broken exit) keeps them targeted. */
export function stuckCheck(audience: string, stuck: number | undefined, ttlMs: number | null): CheckResult {
  if (stuck === undefined || ttlMs === null)
    return {
      check: 'stuck_members',
      audience,
      destination: '',
      value: undefined,
      status: 'pass',
      message: 'ttl: none',
    };
  return {
    check: 'stuck_members',
    audience,
    destination: '',
    value: stuck,
    status: stuck > 0 ? 'fail' : 'pass',
    message: `${stuck} member(s) in longer than the ttl of ${formatMs(ttlMs)}`,
  };
}

/** Exits the destination has not acknowledged in time fail: converters are still being retargeted. */
export function exitFailureCheck(
  audience: string,
  destination: string,
  count: number,
  deadlineMs: number,
): CheckResult {
  return {
    check: 'exit_failures',
    audience,
    destination,
    value: count,
    status: count > 0 ? 'fail' : 'pass',
    message: `${count} exit(s) not acknowledged by ${destination} within ${formatMs(deadlineMs)}`,
  };
}

/** Dead letters fail: those changes will not reach the destination without someone acting. */
export function deadLetterCheck(audience: string, destination: string, count: number): CheckResult {
  return {
    check: 'dead_letters',
    audience,
    destination,
    value: count,
    status: count > 0 ? 'fail' : 'pass',
    message: `${count} dead letter(s) at ${destination}`,
  };
}

/** Overdue wake-ups fail: time-based exits are not happening on time. */
export function overdueWakeupCheck(count: number, graceMs: number): CheckResult {
  return {
    check: 'overdue_wakeups',
    audience: '',
    destination: '',
    value: count,
    status: count > 0 ? 'fail' : 'pass',
    message: `${count} wake-up(s) pending more than ${formatMs(graceMs)} past due`,
  };
}

/**
 * Quarantined events fail: their effects on profiles and audiences are missing until someone
 * fixes the cause and retries them.
 */
export function quarantineCheck(count: number): CheckResult {
  return {
    check: 'quarantined_events',
    audience: '',
    destination: '',
    value: count,
    status: count > 0 ? 'fail' : 'pass',
    message:
      count === 0
        ? 'no quarantined events'
        : `${count} event(s) quarantined: processing them failed every time, so their effects are missing. ` +
          'See the errors with `handoff events quarantine list` (or GET /api/admin/quarantine), fix the cause, ' +
          'then `handoff events quarantine retry --all`',
  };
}

/** What the source-poll check knows of one sourced audience's recent polls. */
export interface SourcePolls {
  /** When the last complete poll (applied or held) ran; undefined when none in the window. */
  lastCompleteAt: number | undefined;
  /** The latest failed poll's reason, when the latest poll failed. */
  lastError: string | undefined;
  /** Exits held back for confirmation. */
  heldExits: number;
}

/**
 * A sourced audience's polls: failing when no poll has completed within `staleAfterMs` (the
 * mirror is going stale), warning while a large removal waits for confirmation.
 */
export function sourcePollCheck(
  audience: string,
  polls: SourcePolls,
  now: number,
  staleAfterMs: number,
): CheckResult {
  const age = polls.lastCompleteAt === undefined ? undefined : (now - polls.lastCompleteAt) / 1000;
  const base = { check: 'source_poll' as const, audience, destination: '', value: age };
  if (age === undefined || age * 1000 > staleAfterMs)
    return {
      ...base,
      status: 'fail',
      message: `no complete Customer.io poll in ${formatMs(staleAfterMs)}${polls.lastError ? `; last error: ${polls.lastError}` : ''}`,
    };
  if (polls.heldExits > 0)
    return {
      ...base,
      status: 'warn',
      message: `a removal of ${polls.heldExits} member(s) is held: \`handoff sync confirm ${audience}\` applies it`,
    };
  return { ...base, status: 'pass', message: `last complete poll ${formatMs(age * 1000)} ago` };
}

/** The worst of some statuses (pass when there are none). */
export function worst(statuses: Iterable<CheckStatus>): CheckStatus {
  let result: CheckStatus = 'pass';
  for (const s of statuses) {
    if (s === 'fail') return 'fail';
    if (s === 'warn') result = 'warn';
  }
  return result;
}

/** 90000 → `1m30s`; a compact duration for messages. */
export function formatMs(ms: number): string {
  const units: [string, number][] = [
    ['d', DAY_MS],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = Math.round(ms);
  let text = '';
  for (const [unit, size] of units) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return text === '' ? `${rest}ms` : text;
}
