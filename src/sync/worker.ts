import { setImmediate } from 'node:timers/promises';
import type { AudienceDefinition } from '../audiences/index.ts';
import type { MembershipChange } from '../engine/model.ts';
import { describeCause } from '../engine/model.ts';
import type { Bus } from '../engine/events.ts';
import type { ProfileView } from '../identity/model.ts';
import type { Clock } from '../shared/clock.ts';
import { CursorMovedError } from '../engine/ports.ts';
import type { SyncPorts } from './ports.ts';
import type { AudienceTarget } from './config.ts';
import { contactKey, emailOf } from './contact-key.ts';
import type { Destination, SendResult } from './destination.ts';
import type { ContactUpdate, SyncItem } from './model.ts';
import { coalesce } from './model.ts';
import type { DesiredState, ItemResult, Unmatched } from './ports.ts';
import type { RateLimiter } from './rate-limiter.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { backoffMs } from './retry-policy.ts';

export interface SyncWorkerOptions {
  store: SyncPorts;
  destination: Destination;
  /** The audiences that sync to this destination, and how. */
  targets: readonly AudienceTarget[];
  audiences: ReadonlyMap<string, AudienceDefinition>;
  clock: Clock;
  limiter: RateLimiter;
  policy: RetryPolicy;
  bus: Bus;
  /** Requests in flight at once. */
  concurrency: number;
  random?: () => number;
  /** Changes read, and items sent, per round. Default 500. */
  batchSize?: number;
  /** Puts large change sets into import jobs before items are sent one contact at a time. */
  bulk?: { plan(): Promise<number>; readonly perContactBatch: number };
}

/** One change for one (contact, list), with its audience's definition and the contact's email. */
interface DesiredStateInput {
  change: MembershipChange & { seq: number };
  definition: AudienceDefinition | undefined;
  contact: string;
  list: string;
  email: string | undefined;
}

/**
 * Delivers membership changes to one destination. `pull` turns the change outbox into the
 * desired state of each (contact, list), so repeated changes coalesce and the newest always
 * wins; `sendDue` sends what is due, per contact in one request, within the account's rate,
 * and records the acknowledged state, retries and dead letters.
 */
export class SyncWorker {
  private readonly cursorName: string;
  private readonly batchSize: number;
  private readonly byAudience: Map<string, AudienceTarget[]>;
  private rematchFrom = { audience: '', profileId: '' };

  constructor(private readonly options: SyncWorkerOptions) {
    this.cursorName = `sync:${options.destination.name}`;
    this.batchSize = options.batchSize ?? 500;
    this.byAudience = new Map();
    for (const t of options.targets)
      this.byAudience.set(t.audience, [...(this.byAudience.get(t.audience) ?? []), t]);
  }

  /** Reads the next changes from the outbox into desired states; returns how many changes it read. */
  async pull(): Promise<number> {
    const { store, destination, audiences } = this.options;
    // Let timers and I/O run between batches: the store's driver is synchronous, so reading a
    // large outbox in a loop would otherwise hold the event loop (HTTP, the send timer) throughout.
    await setImmediate();
    const after = await store.cursors.get(this.cursorName);
    const changes = await store.audiences.changesAfter(after, this.batchSize);
    const last = changes.at(-1);
    if (last === undefined) return 0;
    // Held-out members are the control group: they never reach a destination.
    const synced = changes.filter((c) => this.byAudience.has(c.audience) && !c.heldOut);
    const profiles = await this.profiles(synced.map((c) => c.profileId));
    // A deleted profile's exits go to whatever it was synced as: its items, read in one go.
    const orphans = synced.filter((c) => c.change === 'exit' && !profiles.has(c.profileId));
    const orphanItems = new Map<string, SyncItem[]>();
    if (orphans.length > 0) {
      const members = [...new Map(orphans.map((c) => [memberKey(c), c])).values()];
      for (const item of await store.sync.itemsOfMembers(destination.name, members)) {
        const key = memberKey(item);
        orphanItems.set(key, [...(orphanItems.get(key) ?? []), item]);
      }
    }
    const desired: DesiredState[] = [];
    const unmatched: Unmatched[] = [];
    for (const change of synced) {
      const targets = this.byAudience.get(change.audience)!;
      const profile = profiles.get(change.profileId);
      const definition = audiences.get(change.audience);
      if (profile === undefined && change.change === 'exit') {
        // The profile was deleted: exit it from whatever it was synced as.
        for (const item of orphanItems.get(memberKey(change)) ?? [])
          desired.push(
            this.desiredState({
              change,
              definition,
              contact: item.contact,
              list: item.list,
              email: item.email,
            }),
          );
        continue;
      }
      for (const { target } of targets) {
        const key = profile ? contactKey(profile, target) : { unmatched: 'profile deleted' };
        if ('unmatched' in key) {
          unmatched.push({
            audience: change.audience,
            profileId: change.profileId,
            reason: change.change === 'enter' ? key.unmatched : undefined,
            at: change.at,
          });
          continue;
        }
        desired.push(
          this.desiredState({
            change,
            definition,
            contact: key.key,
            list: target.list,
            email: profile && emailOf(profile),
          }),
        );
      }
    }
    try {
      await store.sync.record(
        destination.name,
        { name: this.cursorName, from: after, to: last.seq },
        desired,
        unmatched,
      );
    } catch (error) {
      if (error instanceof CursorMovedError) return this.pull();
      throw error;
    }
    return changes.length;
  }

  /** The live profiles among `ids`, in one read when the store offers it. */
  private async profiles(ids: readonly string[]): Promise<Map<string, ProfileView>> {
    const { identity } = this.options.store;
    const unique = [...new Set(ids)];
    if (identity.getProfiles) return identity.getProfiles(unique);
    const found = new Map<string, ProfileView>();
    for (const id of unique) {
      const profile = await identity.getProfile(id);
      if (profile) found.set(id, profile);
    }
    return found;
  }

  /**
   * Re-checks members that had no usable identifier (an entry before the email arrived, say):
   * those that now have one and are still in the audience are queued as entries. Walks the
   * unmatched members `limit` at a time, wrapping round; returns how many it queued.
   */
  async rematch(limit = 500): Promise<number> {
    const { store, destination, audiences, clock } = this.options;
    const rows = await store.sync.unmatchedAfter(destination.name, this.rematchFrom, limit);
    this.rematchFrom = rows.length < limit ? { audience: '', profileId: '' } : rows.at(-1)!;
    if (rows.length === 0) return 0;
    const after = await store.cursors.get(this.cursorName);
    const desired: DesiredState[] = [];
    const settled: Unmatched[] = [];
    const profiles = await this.profiles(rows.map((r) => r.profileId));
    for (const row of rows) {
      const profile = profiles.get(row.profileId);
      const last = (await store.audiences.changesOf(row.profileId))
        .filter((c) => c.audience === row.audience)
        .at(-1);
      const gone = { ...row, reason: undefined, at: clock.now() };
      if (profile === undefined || last === undefined || last.change === 'exit' || last.heldOut) {
        settled.push(gone);
        continue;
      }
      const keys = (this.byAudience.get(row.audience) ?? []).map(({ target }) => ({
        target,
        key: contactKey(profile, target),
      }));
      if (keys.some(({ key }) => 'unmatched' in key)) continue;
      for (const { target, key } of keys) {
        if ('key' in key)
          desired.push(
            this.desiredState({
              change: last,
              definition: audiences.get(row.audience),
              contact: key.key,
              list: target.list,
              email: emailOf(profile),
            }),
          );
      }
      settled.push(gone);
    }
    if (settled.length === 0) return 0;
    try {
      // The cursor stays where it is; the check only keeps this from racing a pull.
      await store.sync.record(
        destination.name,
        { name: this.cursorName, from: after, to: after },
        desired,
        settled,
      );
    } catch (error) {
      if (error instanceof CursorMovedError) return 0;
      throw error;
    }
    return desired.length;
  }

  private desiredState({ change, definition, contact, list, email }: DesiredStateInput): DesiredState {
    return {
      contact,
      list,
      audience: change.audience,
      profileId: change.profileId,
      email,
      desired: change.change === 'enter',
      changeSeq: change.seq,
      cause: describeCause(change.cause),
      version: change.version,
      changedAt: change.at,
      priority: definition?.priority ?? 0,
      dueAt: dueAt(change.change, change.at, definition),
    };
  }

  /** Sends what is due now; returns how many items it settled (acknowledged, rescheduled or dead). */
  async sendDue(): Promise<number> {
    const { store, destination, clock } = this.options;
    const { bulk } = this.options;
    await bulk?.plan();
    const limit = bulk ? Math.min(this.batchSize, bulk.perContactBatch) : this.batchSize;
    const items = await store.sync.due(destination.name, clock.now(), limit);
    if (items.length === 0) return 0;
    const prepared = await destination.prepareLists([...new Set(items.map((i) => i.list))]);
    if (prepared) {
      // The lists could not be looked up or created: the items were not tried, so a transient
      // failure does not count against them; a permanent one (a list Cordial refuses) does.
      const settled = this.settle(items, prepared, { countAttempt: false });
      await store.sync.results(destination.name, settled);
      this.emitSent(items.length, 0, settled);
      return items.length;
    }
    const updates = coalesce(items);
    const results: ItemResult[] = [];
    let next = 0;
    const lane = async () => {
      while (next < updates.length) {
        const update = updates[next++]!;
        results.push(...(await this.deliver(update)));
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.concurrency, updates.length) }, lane));
    await store.sync.results(destination.name, results);
    this.emitSent(items.length, updates.length, results);
    return items.length;
  }

  private emitSent(items: number, updates: number, results: readonly ItemResult[]): void {
    this.options.bus.emit('sync.sent', {
      destination: this.options.destination.name,
      requests: updates,
      items,
      ok: results.filter((r) => r.result === 'ok').length,
      retried: results.filter((r) => r.result === 'retry').length,
      dead: results.filter((r) => r.result === 'dead').length,
    });
  }

  private async deliver(update: ContactUpdate): Promise<ItemResult[]> {
    const { limiter, destination } = this.options;
    const result = await destination.send(update);
    if (result.outcome.kind === 'rate_limited') limiter.slowDown();
    else if (result.outcome.kind === 'ok') limiter.speedUp();
    if (result.rate.remaining !== undefined)
      limiter.observeRemaining(result.rate.remaining, result.rate.resetAt);
    return this.settle(update.items, result);
  }

  private settle(
    items: readonly SyncItem[],
    { outcome, record }: SendResult,
    { countAttempt }: { countAttempt: boolean } = { countAttempt: true },
  ): ItemResult[] {
    const { clock, policy, limiter } = this.options;
    const now = clock.now();
    const base = {
      status: record.status,
      message: record.message,
      request: record.request,
      at: now,
      ...(record.errorKey ? { errorKey: record.errorKey } : {}),
    };
    return items.map((item): ItemResult => {
      switch (outcome.kind) {
        case 'ok':
          return { ...base, item, result: 'ok', attempts: item.attempts, nextAttemptAt: 0 };
        case 'rate_limited': {
          // A rate-limit wait is not a failure: the attempt is not counted.
          limiter.pause(now + Math.min(outcome.retryAfterMs, policy.maxRateLimitWaitMs));
          return {
            ...base,
            item,
            result: 'retry',
            attempts: item.attempts,
            nextAttemptAt: limiter.pausedUntilMs,
          };
        }
        case 'retryable': {
          const attempts = item.attempts + (countAttempt ? 1 : 0);
          if (attempts >= policy.maxAttempts)
            return { ...base, item, result: 'dead', attempts, nextAttemptAt: 0 };
          const delay = backoffMs(policy, Math.max(1, attempts), this.options.random ?? Math.random);
          return { ...base, item, result: 'retry', attempts, nextAttemptAt: now + delay };
        }
        case 'not_found':
        case 'permanent':
          return { ...base, item, result: 'dead', attempts: item.attempts + 1, nextAttemptAt: 0 };
      }
    });
  }
}

/**
 * When a change may be sent: an entry waits out the activation delay (an enter and exit inside
 * it send nothing); exits go at once, so converters stop being retargeted; an audience with a
 * cadence sends its net changes at the next cadence boundary.
 */
export function dueAt(
  change: 'enter' | 'exit',
  at: number,
  definition: AudienceDefinition | undefined,
): number {
  const delayed = change === 'enter' ? at + (definition?.activationDelay ?? 0) : at;
  const cadence = definition?.cadence;
  if (cadence === undefined || cadence === 'realtime') return delayed;
  return Math.ceil(delayed / cadence) * cadence;
}

/** One member of one audience, as a map key. */
const memberKey = (m: { audience: string; profileId: string }): string =>
  JSON.stringify([m.audience, m.profileId]);
