import type { Clock } from '../shared/clock.ts';
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
  options: ReadBackOptions & { audience?: string },
): Promise<VerifyReport> {
  const { audience } = options;
  const items = (await store.sync.items(destination.name)).filter(
    (i) => (audience === undefined || i.audience === audience) && (i.sent !== undefined || i.desired),
  );
  const byContact = new Map<string, typeof items>();
  for (const item of items) byContact.set(item.contact, [...(byContact.get(item.contact) ?? []), item]);
  const report: VerifyReport = { contacts: byContact.size, checked: 0, drift: [], unreadable: [] };
  for (const [contact, contactItems] of byContact) {
    const read = await readBack(destination, contact, options);
    if ('reason' in read) {
      report.unreadable.push({ contact, reason: read.reason });
      continue;
    }
    const { lists } = read;
    report.checked++;
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
  return report;
}
