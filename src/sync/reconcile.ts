import type { Clock } from '../shared/clock.ts';
import type { SyncItem } from './model.ts';
import type { SyncPorts } from './ports.ts';
import type { ContactLists, Destination, RateInfo } from './destination.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { backoffMs } from './retry-policy.ts';

/** One (contact, list) where the destination holds something other than what it should. */
export interface Drift {
  contact: string;
  list: string;
  audience: string;
  /** What Handoff wants. */
  desired: boolean;
  /** What the destination holds: on the list, off it, or the contact is unknown to it. */
  actual: boolean | 'no contact';
}

export interface VerifyReport {
  contacts: number;
  checked: number;
  drift: Drift[];
  /** Contacts that could not be read (with why), after retries; they are re-asserted too. */
  unreadable: { contact: string; reason: string }[];
  /** Lists read back through an export job rather than contact by contact. */
  exports: ListExportReport[];
}

/** One list verified by export. */
export interface ListExportReport {
  list: string;
  /** The destination's export job id; undefined when no export could be read. */
  jobId: string | undefined;
  /** Rows in the export, and of them on the list. */
  rows: number;
  members: number;
  /** On the list at the destination, but unknown to Handoff for this list: reported, not removed. */
  unknown: number;
  /** Why the export could not be read (its contacts are then unreadable). */
  error?: string;
}

/** A list's members as an export showed them (contact key values), or why they could not be read. */
export type ListExport =
  | { ok: true; members: Set<string>; rows: number; jobId: string }
  | { ok: false; reason: string };

/** Verifying large lists by export: lists with at least `threshold` contacts go through `exportList`. */
export interface ByExport {
  threshold: number;
  exportList: (list: string, identifier: string) => Promise<ListExport>;
}

/** The account's shared limiter, as read-back uses it: a 429 pauses every request, not only reads. */
export interface ReadLimiter {
  pause(until: number): void;
  slowDown(): void;
  speedUp(): void;
  observeRemaining(remaining: number, resetAt: number | undefined): void;
}

/** How read-back waits and retries: the same policy and limiter as sends. */
export interface ReadBackOptions {
  policy: RetryPolicy;
  limiter: ReadLimiter;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  /** For backoff jitter; default Math.random. */
  random?: () => number;
}

/**
 * Rate-limit answers a read may get before it gives up: they burn no attempt, but a destination
 * that never stops refusing must not hold the command forever.
 */
const RATE_LIMITED_READS_PER_ATTEMPT = 10;

/**
 * Reads one contact's lists, retrying as a send is retried: a 429 pauses the account's limiter
 * for its `Retry-After` (capped by the policy) without burning an attempt, a 5xx or a lost
 * connection backs off and counts one, anything else is final.
 */
export async function readBack(
  destination: Destination,
  contact: string,
  options: ReadBackOptions,
): Promise<{ lists: ContactLists } | { reason: string }> {
  const { policy, limiter, clock } = options;
  let failures = 0;
  let rateLimited = 0;
  for (;;) {
    const { result, lists } = await destination.read(contact);
    observe(limiter, result.rate);
    if (lists) {
      limiter.speedUp();
      return { lists };
    }
    const { outcome } = result;
    switch (outcome.kind) {
      case 'rate_limited':
        limiter.slowDown();
        limiter.pause(clock.now() + Math.min(outcome.retryAfterMs, policy.maxRateLimitWaitMs));
        if (++rateLimited >= RATE_LIMITED_READS_PER_ATTEMPT * policy.maxAttempts)
          return { reason: `rate limited ${rateLimited} times; last: ${outcome.reason}` };
        continue;
      case 'retryable':
        if (++failures >= policy.maxAttempts)
          return { reason: `failed ${failures} times; last: ${outcome.reason}` };
        await options.sleep(backoffMs(policy, failures, options.random ?? Math.random));
        continue;
      case 'ok':
        return { reason: 'the answer did not list the contact’s lists' };
      case 'not_found':
        return { reason: 'not found' };
      case 'permanent':
        return { reason: outcome.reason };
    }
  }
}

function observe(limiter: ReadLimiter, rate: RateInfo): void {
  if (rate.remaining !== undefined) limiter.observeRemaining(rate.remaining, rate.resetAt);
}

/**
 * Reads back every contact the destination was told about and compares its lists with the
 * desired state: what `handoff sync reconcile --verify` reports and then repairs.
 */
export async function verify(
  store: SyncPorts,
  destination: Destination,
  options: ReadBackOptions & { audience?: string; byExport?: ByExport },
): Promise<VerifyReport> {
  const { audience } = options;
  const all = (await store.sync.items(destination.name)).filter(
    (i) => (audience === undefined || i.audience === audience) && (i.sent !== undefined || i.desired),
  );
  const report: VerifyReport = {
    contacts: new Set(all.map((i) => i.contact)).size,
    checked: 0,
    drift: [],
    unreadable: [],
    exports: [],
  };
  const checked = new Set<string>();
  const exported = options.byExport ? await verifyByExport(all, options.byExport, report, checked) : new Set();
  const items = all.filter((i) => !exported.has(i.list));
  for (const [contact, contactItems] of groupBy(items, (i) => i.contact)) {
    const read = await readBack(destination, contact, options);
    if ('reason' in read) {
      report.unreadable.push({ contact, reason: read.reason });
      continue;
    }
    const { lists } = read;
    checked.add(contact);
    for (const item of contactItems) {
      const actual = lists.exists ? lists.lists.has(item.list) : 'no contact';
      const holds = actual === true;
      if (holds !== item.desired) {
        report.drift.push({
          contact,
          list: item.list,
          audience: item.audience,
          desired: item.desired,
          actual,
        });
      }
    }
  }
  const unreadable = new Set(report.unreadable.map((u) => u.contact));
  report.checked = [...checked].filter((c) => !unreadable.has(c)).length;
  return report;
}

/** Items grouped by `key`, in their order (each group appended to, never copied: lists run to 100,000s). */
function groupBy(items: readonly SyncItem[], key: (item: SyncItem) => string): Map<string, SyncItem[]> {
  const groups = new Map<string, SyncItem[]>();
  for (const item of items) {
    const group = groups.get(key(item));
    if (group) group.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}

/** `email:Ann@x.com` → `['email', 'ann@x.com']`: emails compare without case, other keys as they are. */
function splitContact(contact: string): [string, string] {
  const colon = contact.indexOf(':');
  const kind = colon === -1 ? 'email' : contact.slice(0, colon);
  const value = contact.slice(colon + 1);
  return [kind, kind === 'email' ? value.toLowerCase() : value];
}

/**
 * Lists with at least `threshold` contacts are read back through one export each and compared
 * with the desired state; returns the lists it covered (whether or not their export could be
 * read: an unreadable one makes its contacts unreadable, which are then re-asserted).
 */
async function verifyByExport(
  items: readonly SyncItem[],
  byExport: ByExport,
  report: VerifyReport,
  checked: Set<string>,
): Promise<Set<string>> {
  const covered = new Set<string>();
  for (const [list, listItems] of groupBy(items, (i) => i.list)) {
    const contacts = new Set(listItems.map((i) => i.contact));
    if (contacts.size < byExport.threshold) continue;
    covered.add(list);
    const [identifier] = splitContact(listItems[0]!.contact);
    const result = await byExport.exportList(list, identifier);
    if (!result.ok) {
      for (const contact of contacts) report.unreadable.push({ contact, reason: result.reason });
      report.exports.push({ list, jobId: undefined, rows: 0, members: 0, unknown: 0, error: result.reason });
      continue;
    }
    const known = new Set<string>();
    for (const item of listItems) {
      const [, value] = splitContact(item.contact);
      known.add(value);
      checked.add(item.contact);
      const holds = result.members.has(value);
      if (holds !== item.desired)
        report.drift.push({ contact: item.contact, list, audience: item.audience, desired: item.desired, actual: holds });
    }
    let unknown = 0;
    for (const member of result.members) if (!known.has(identifier === 'email' ? member.toLowerCase() : member)) unknown++;
    report.exports.push({ list, jobId: result.jobId, rows: result.rows, members: result.members.size, unknown });
  }
  return covered;
}
