// One step of a simulation over events already in the log, committed as one batch but with the
// changes the events would have made one at a time: each profile is evaluated at its own event's
// instant, and the step takes only as many events as keep that true.
import type { IdentityOp, IdentityPolicy } from '../../identity/model.ts';
import type { MessageIdentity } from '../../identity/resolve.ts';
import { lookupKeys, resolve } from '../../identity/resolve.ts';
import { WorkingSet } from '../../identity/working-set.ts';
import type { LoggedEvent } from '../../ingest/event.ts';
import type { Store } from '../../store/ports.ts';
import type { AudienceSet } from '../../engine/audience-stage.ts';
import { readBatch } from '../../engine/batch-read.ts';
import {
  evaluateBatch,
  evaluateMovedRankings,
  readByAudiences,
  thresholds,
} from '../../engine/evaluate-batch.ts';
import type { Bus } from '../../engine/events.ts';

/** The processor's cursor: a step moves it as a processor batch would. */
const CURSOR = 'processor';
const READ_CHUNK = 2_000;

/** Profile ids in creation order (p1, p2, …) that a refused attempt can give back. */
export class ProfileIds {
  private n = 0;
  readonly next = (): string => `p${++this.n}`;
  mark(): number {
    return this.n;
  }
  reset(mark: number): void {
    this.n = mark;
  }
}

export interface StepOptions {
  store: Store;
  set: AudienceSet;
  policy: IdentityPolicy;
  bus: Bus;
  ids: ProfileIds;
  /** The events past the processor's cursor, read once for all the steps that take them. */
  log: LogWindow;
}

/**
 * The log's unprocessed events, read once for a run of steps: each step takes the next few, so
 * the log is not read again (and its bodies parsed again) for every step of a handful of events.
 */
export class LogWindow {
  private taken = 0;

  private constructor(
    private after: number,
    private readonly events: readonly LoggedEvent[],
    private readonly identities: readonly MessageIdentity[],
  ) {}

  /** Up to `limit` events past the processor's cursor, with their identities. */
  static async read(
    store: Store,
    set: AudienceSet,
    policy: IdentityPolicy,
    limit: number,
  ): Promise<LogWindow> {
    const after = await store.cursors.get(CURSOR);
    const read = await readBatch({
      log: store.events,
      after,
      limit,
      chunk: READ_CHUNK,
      policy,
      keepsMessage: (e) => readByAudiences(set, e),
    });
    return new LogWindow(after, read.events, read.identities);
  }

  /** The cursor the next step moves from, and up to `limit` of the events it may take. */
  next(limit: number): { after: number; events: LoggedEvent[]; identities: MessageIdentity[] } {
    const end = Math.min(this.events.length, this.taken + limit);
    return {
      after: this.after,
      events: this.events.slice(this.taken, end),
      identities: this.identities.slice(this.taken, end),
    };
  }

  /** The next `n` events were committed: the cursor is past them. */
  advance(n: number): void {
    this.taken += n;
    this.after = this.events[this.taken - 1]!.offset;
  }
}

/**
 * Processes the first of the log's unprocessed events, each at its instant (`instants[i]` for the
 * i-th, non-decreasing), and returns how many it took (at least one). A batch stops before an event
 * whose profile an earlier event in it changed, before an event that merges or deletes profiles (which then goes
 * alone), after an event a top-percent ranking reads (the ranking moves at once, as it would), and
 * before any event at or after a wake-up that the batch itself schedules.
 */
export async function simulationStep(options: StepOptions, instants: readonly number[]): Promise<number> {
  // A source's word on a sourced audience is replayed with merges and read across a profile's
  // events: such configurations keep to one event a step.
  for (let limit = options.set.sourced.size > 0 ? 1 : instants.length; ;) {
    const taken = await attempt(options, instants, limit);
    if (taken === limit) return taken;
    limit = taken;
  }
}

/** Commits the first `limit` events and returns `limit`, or commits nothing and returns how many it could take. */
async function attempt(options: StepOptions, instants: readonly number[], limit: number): Promise<number> {
  const { store, set, policy, bus, ids, log } = options;
  const read = log.next(limit);
  const after = read.after;
  const events = read.events;
  if (events.length === 0) return 0;
  const mark = ids.mark();
  const ws = new WorkingSet(await store.identity.snapshot(read.identities.flatMap(lookupKeys)));
  const ops: IdentityOp[] = [];
  const profileOf: string[] = [];
  const instant = new Map<string, number>();
  // Profiles whose events so far here change nothing (a page view no audience reads, by a known
  // profile, setting no trait): a later event of theirs is evaluated alone, as it would be.
  const inert = new Map<string, boolean>();
  const lastEvent = new Map<string, number>();
  const refuse = (n: number): number => {
    ids.reset(mark);
    return n;
  };
  for (const [i, event] of events.entries()) {
    const resolution = resolve({ event, identity: read.identities[i]!, ws, policy, newId: ids.next });
    const merges = resolution.ops.some((op) => op.op === 'merge' || op.op === 'delete');
    const changesNothing =
      !readByAudiences(set, event) && resolution.ops.every((op) => op.op !== 'create' && op.op !== 'trait');
    const seen = inert.get(resolution.profileId);
    if (i > 0 && (merges || seen === false)) return refuse(i);
    inert.set(resolution.profileId, (seen ?? true) && changesNothing);
    profileOf.push(resolution.profileId);
    ops.push(...resolution.ops);
    instant.set(resolution.profileId, instants[i]!);
    lastEvent.set(resolution.profileId, i);
    if (merges || feedsRanking(set, event)) {
      if (i + 1 < events.length) return refuse(i + 1);
      break;
    }
  }
  const now = instants[events.length - 1]!;
  const ranked = set.compiled.topPercentRankings.length > 0;
  const before = ranked ? await thresholds(store, set) : undefined;
  const writes = await evaluateBatch({
    store,
    set,
    events,
    profileOf,
    ops,
    now,
    current: before,
    instantOf: (p) => instant.get(p)!,
  });
  const wake = Math.min(...writes.states.map((s) => s.wakeAt ?? Infinity));
  const beforeWake = events.findIndex((_, i) => instants[i]! >= wake);
  if (beforeWake > 0) return refuse(beforeWake);
  // In the order the events that made them came, as one at a time would have them.
  const order = (c: { profileId: string }) => lastEvent.get(c.profileId) ?? -1;
  writes.changes.sort((a, b) => order(a) - order(b));
  await store.commit({
    cursor: { name: CURSOR, from: after, to: events.at(-1)!.offset },
    identity: ops,
    audiences: writes,
  });
  log.advance(events.length);
  if (writes.changes.length > 0) bus.emit('engine.changes', { changes: writes.changes });
  if (before) {
    const reranked = await evaluateMovedRankings({ store, set, before, now });
    if (reranked.changes.length > 0 || reranked.states.length > 0) {
      await store.commit({ identity: [], audiences: reranked });
      if (reranked.changes.length > 0) bus.emit('engine.changes', { changes: reranked.changes });
    }
  }
  return events.length;
}

/** Whether a top-percent ranking reads the event: its score, and so the threshold, may move. */
function feedsRanking(set: AudienceSet, event: LoggedEvent): boolean {
  if (set.compiled.topPercentRankings.length === 0) return false;
  const ranked = new Set(set.compiled.topPercentRankings.map((r) => r.audience));
  return set.compiled.relevantAudiences(event.name ?? event.type).some((a) => ranked.has(a));
}
