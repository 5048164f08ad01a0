import type { CheckStatus } from './checks.ts';
import { formatMs } from './checks.ts';

/** One thing wrong with an audience, in words: what happened and what to do next. */
export interface Advice {
  status: Exclude<CheckStatus, 'pass'>;
  /** The check it comes from (`dead_letters`, `match_rate`, …) or `unmatched`. */
  check: string;
  destination: string;
  /** How many members, addresses or exits it is about; orders findings of one status. */
  count: number;
  /** What is wrong, e.g. `3 addresses refused by Cordial: invalid email`. */
  cause: string;
  /** The next step, e.g. `fix at the source, retrying will not help`. */
  next: string;
}

/** A check result as advice reads it (a monitor CheckResult or the admin API's copy). */
export interface AdviceCheck {
  check: string;
  destination: string;
  status: CheckStatus;
  value?: number | undefined;
  message: string;
}

/** A dead letter's reason: the destination's HTTP status and error, if it answered. */
export interface AdviceDeadLetter {
  destination: string;
  status: number | null | undefined;
  errorKey: string | null | undefined;
  message: string;
}

/** What advice reads about one audience. */
export interface AdviceInput {
  checks: readonly AdviceCheck[];
  deadLetters: readonly AdviceDeadLetter[];
  /** Members the destination cannot hold: no identifier it keys contacts by (email). */
  unmatched: number;
  ttlMs: number | null;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const title = (destination: string): string =>
  destination === '' ? 'the destination' : destination[0]!.toUpperCase() + destination.slice(1);

const KNOWN_KEYS: Record<string, string> = {
  ACCOUNT_LISTS_NOT_FOUND: 'the list does not exist there',
  RECORD_NOT_FOUND: 'the contact does not exist there',
  RATE_LIMIT_EXCEEDED: 'rate limited',
  UNSUPPORTED_MEDIA_TYPE: 'the request was malformed',
};

/** A dead letter's reason in words: the destination's error key read, or its message. */
export function reasonInWords(d: Pick<AdviceDeadLetter, 'status' | 'errorKey' | 'message'>): string {
  const text = d.message.trim();
  if (/invalid/i.test(text) && /e-?mail/i.test(text)) return 'invalid email';
  const known = d.errorKey ? KNOWN_KEYS[d.errorKey] : undefined;
  if (known !== undefined) return known;
  if (text !== '') return text.replace(/\.$/, '');
  return d.status ? `HTTP ${d.status}` : 'no response';
}

/** Whether sending the same request again can succeed: not after a 4xx other than 408 and 429. */
export const retryCanHelp = (status: number | null | undefined): boolean =>
  status === null || status === undefined || status >= 500 || status === 408 || status === 429;

function deadLetterAdvice(letters: readonly AdviceDeadLetter[]): Advice[] {
  const groups = new Map<string, { sample: AdviceDeadLetter; count: number; reason: string }>();
  for (const d of letters) {
    const reason = reasonInWords(d);
    const id = `${d.destination}\u0000${reason}\u0000${retryCanHelp(d.status)}`;
    const group = groups.get(id) ?? { sample: d, count: 0, reason };
    group.count++;
    groups.set(id, group);
  }
  return [...groups.values()].map(({ sample, count, reason }) => ({
    status: 'fail',
    check: 'dead_letters',
    destination: sample.destination,
    count,
    cause: `${plural(count, 'address', 'addresses')} refused by ${title(sample.destination)}: ${reason}`,
    next:
      sample.errorKey === 'ACCOUNT_LISTS_NOT_FOUND'
        ? 'create the list (or fix its name in the config), then retry them on the Sync page'
        : retryCanHelp(sample.status)
          ? 'retry them on the Sync page once the destination answers again'
          : 'fix at the source, retrying will not help; skip them on the Sync page once fixed',
  }));
}

function checkAdvice(c: AdviceCheck, ttlMs: number | null): Advice | undefined {
  if (c.status === 'pass') return undefined;
  const n = c.value !== undefined && Number.isFinite(c.value) ? c.value : 0;
  const base = { status: c.status, check: c.check, destination: c.destination };
  switch (c.check) {
    case 'stuck_members':
      return {
        ...base,
        count: n,
        cause: `${plural(n, 'member')} in longer than the TTL${ttlMs === null ? '' : ` of ${formatMs(ttlMs)}`}: an exit may never fire`,
        next: 'check the definition’s exit conditions on the audience page, and look at one stuck profile',
      };
    case 'exit_failures':
      return {
        ...base,
        count: n,
        cause: `${plural(n, 'exit')} not confirmed by ${title(c.destination)} in time: people who left are still targeted`,
        next: 'look at the Sync page: a growing queue or 429s mean sends are behind',
      };
    case 'match_rate':
      return {
        ...base,
        count: 1,
        cause: `only ${(n * 100).toFixed(1)}% of members are on the ${title(c.destination)} list`,
        next: 'see the match rate breakdown on the audience page: pending, no email or refused',
      };
    case 'size_drift':
      return {
        ...base,
        count: 1,
        cause: `the size moved far from its 7-day mean: ${c.message}`,
        next: 'check recent events for a tracking change before acting on the audience',
      };
    case 'source_poll':
      return {
        ...base,
        count: 1,
        cause: c.status === 'fail' ? `the Customer.io mirror is going stale: ${c.message}` : c.message,
        next:
          c.status === 'fail'
            ? 'check the Customer.io credentials and network; `handoff sync status` shows the last error'
            : 'confirm the removal if it is expected',
      };
    case 'dead_letters':
      return {
        ...base,
        count: n,
        cause: `${plural(n, 'change')} dead-lettered at ${title(c.destination)}`,
        next: 'see the Sync page for the reasons',
      };
    default:
      return { ...base, count: n, cause: c.message, next: 'see the check on the audience page' };
  }
}

/**
 * Every failing or warning finding about one audience, worst first (failures, then warnings; more
 * people first). Dead letters are told per reason, and say whether retrying can help.
 */
export function adviseAudience(input: AdviceInput): Advice[] {
  const out: Advice[] = [];
  for (const c of input.checks) {
    if (c.check === 'dead_letters' && c.status !== 'pass') {
      const letters = input.deadLetters.filter((d) => d.destination === c.destination);
      if (letters.length > 0) {
        out.push(...deadLetterAdvice(letters));
        continue;
      }
    }
    const advice = checkAdvice(c, input.ttlMs);
    if (advice) out.push(advice);
  }
  if (input.unmatched > 0) {
    out.push({
      status: 'warn',
      check: 'unmatched',
      destination: '',
      count: input.unmatched,
      cause: `${plural(input.unmatched, 'member has', 'members have')} no email: the list cannot hold them`,
      next: 'send an email for them (identify with traits.email); they sync as soon as one arrives',
    });
  }
  const rank = (a: Advice) => (a.status === 'fail' ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || b.count - a.count);
}
