import { setImmediate } from 'node:timers/promises';
import type { IdentityOp, IdentityPolicy } from '../identity/model.ts';
import { lookupKeys, resolve } from '../identity/resolve.ts';
import { WorkingSet } from '../identity/working-set.ts';
import type { Bus } from './events.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { MessageIdentity } from '../identity/resolve.ts';
import type { EnginePorts, FailureRecord } from './ports.ts';
import { CursorMovedError } from './ports.ts';
import type { AudienceSet } from './audience-stage.ts';
import type { BatchRead, ReadAhead } from './batch-read.ts';
import { readBatch } from './batch-read.ts';
import type { ProfileFailure } from './evaluate-batch.ts';
import {
  evaluateBatch,
  evaluateDue,
  evaluateMovedRankings,
  evaluateRankings,
  readByAudiences,
  thresholds,
} from './evaluate-batch.ts';
import { EventFailure, classifyFailure, columnsOf, describeFailure, quarantineOf } from './failure.ts';
import type { AudienceWrites } from './model.ts';
import { emptyWrites, movesScores } from './model.ts';
import { retriesCursor, retryQuarantined } from './quarantine-retry.ts';

export interface ProcessorOptions {
  store: EnginePorts;
  policy: IdentityPolicy;
  bus: Bus;
  /** Default: the system clock. */
  clock?: Clock;
  newProfileId: () => string;
  /** The compiled audiences; none means identity resolution only. */
  audiences?: AudienceSet;
  /**
   * Events read and committed per transaction, at most. Default 40,000: the profiles a batch
   * touches are read and written once for all its events, and each commit rewrites every page it
   * touched, so a larger batch does less of both per event. Replaying a log of 1M events: 1.01–
   * 1.09× the throughput of 20,000 (paired runs), peak RSS 480 MB against 390, and requests wait
   * up to 0.53 s while a batch is evaluated and committed (0.34 s); 80,000 adds 0–3% for 780 MB and
   * 0.9 s. Only a backlog fills a batch; live traffic arrives in batches of a few events.
   */
  batchSize?: number;
  /**
   * Events per read from the log. Default 2,000: the bodies of events no audience reads are
   * dropped as each read is done, before they survive a collection (see `readBatch`).
   */
  readChunk?: number;
  /** The durable cursor's name. Default `processor`. */
  cursorName?: string;
}

/**
 * Reads the event log after its durable cursor: resolves each event to a profile, folds it into
 * the profile's audience state and records every enter and exit. A batch's identity changes,
 * states, memberships, changes and the new cursor commit in one transaction, so a crash resumes
 * at the cursor with nothing lost and nothing applied twice. Wake-ups (exits and entries that
 * time alone brings) go through the same queue, so the two never interleave.
 *
 * One bad event cannot stall the log: a batch that fails deterministically (see
 * `classifyFailure`) is retried in halves, committing the halves that process, until the failing
 * event is alone; that event is quarantined (kept in the log, recorded aside) and the cursor moves
 * past it in the same commit as the events that follow it. The batch size then doubles back.
 * A failure one event's identity or resolution causes names the event at once, with no halving.
 * Transient failures are thrown, for the runner to retry with backoff.
 */
export class Processor {
  private readonly batchSize: number;
  private readonly readChunk: number;
  private readonly cursorName: string;
  /**
   * Kept between batches, each read again when it may have changed: the cursor and the retries
   * cursor (a commit from stale ones fails with CursorMovedError, which drops them), and the
   * top-percent thresholds (dropped by a commit that writes or drops scores). `takeOver` drops
   * them all: another process may have processed while this one did not hold the processor.
   */
  private position: number | undefined;
  private retries: number | undefined;
  private limits: Map<string, number> | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Events read per batch now: below batchSize while a failing event is being isolated. */
  private size: number;
  /** Events found to fail, by offset, to be quarantined by the next commit that moves past them. */
  private readonly setAside = new Map<number, { event: LoggedEvent; error: FailureRecord }>();

  constructor(private readonly options: ProcessorOptions) {
    this.batchSize = options.batchSize ?? 40_000;
    this.readChunk = options.readChunk ?? 2_000;
    this.cursorName = options.cursorName ?? 'processor';
    this.size = this.batchSize;
  }

  /** Forgets what it kept from earlier batches: another process may have processed since. */
  takeOver(): void {
    this.position = undefined;
    this.retries = undefined;
    this.limits = undefined;
  }

  /**
   * Processes at most one batch (quarantined events marked for retry first); returns how many
   * events it processed or quarantined. Calls never overlap.
   */
  processBatch(): Promise<number> {
    return this.serially(() => this.processOne());
  }

  /**
   * Re-evaluates up to `limit` profiles whose wake-up is due, in one transaction; returns how
   * many it evaluated. Default 40,000: each due profile rewrites rows at random places in its
   * state, memberships and changes, and a larger step shares more of those pages between
   * profiles, so a burst (a window closing on a million profiles at once) clears faster: 45 µs
   * of CPU a wake-up against 55 at 20,000. Only a burst fills a step, and such a step takes about
   * two seconds, which bounds how long events wait behind it; log batches run between steps.
   * A profile whose wake-up fails deterministically is skipped and its wake-up cleared (it is
   * evaluated again at its next event), with a `processor.skipped` event; the rest go on.
   */
  processWakeups(limit = 40_000): Promise<number> {
    const { audiences, store } = this.options;
    const clock = this.options.clock ?? systemClock;
    if (!audiences) return Promise.resolve(0);
    return this.serially(async () => {
      const now = clock.now();
      const due = await store.audiences.due(now, limit);
      if (due.length === 0) return 0;
      await this.wakeUpIsolating(audiences, due, now);
      return due.length;
    });
  }

  /** Re-ranks top-percent audiences against fresh thresholds; returns how many changes that made. */
  refreshRankings(): Promise<number> {
    const { audiences, store } = this.options;
    if (!audiences || audiences.compiled.topPercentRankings.length === 0) return Promise.resolve(0);
    return this.serially(async () => {
      const failed: ProfileFailure[] = [];
      const writes = await evaluateRankings(
        store,
        audiences,
        (this.options.clock ?? systemClock).now(),
        failed,
      );
      await this.commitWrites(writes);
      this.skipped(failed, 'ranking');
      if (writes.changes.length > 0) this.options.bus.emit('engine.changes', { changes: writes.changes });
      return writes.changes.length;
    });
  }

  /**
   * Processes until the log is exhausted; returns the number of events processed. Timers and I/O
   * run between batches (the store's driver is synchronous, so a backlog read in a loop would
   * otherwise hold the event loop, and with it every request, until it was done).
   */
  async drain(): Promise<number> {
    let total = 0;
    for (let n = await this.processBatch(); n > 0; n = await this.processBatch()) {
      total += n;
      await setImmediate();
    }
    return total;
  }

  /**
   * Resolves and evaluates events without committing. A failure resolving one event throws
   * EventFailure naming it; any other failure is thrown as it is.
   */
  async evaluate(
    events: readonly LoggedEvent[],
    identities: readonly MessageIdentity[],
    now: number,
  ): Promise<{ ops: IdentityOp[]; writes: AudienceWrites; before: Map<string, number> | undefined }> {
    const { store, policy } = this.options;
    const ws = new WorkingSet(await store.identity.snapshot(identities.flatMap(lookupKeys)));
    const ops: IdentityOp[] = [];
    const profileOf: string[] = [];
    events.forEach((event, i) => {
      let resolution;
      try {
        resolution = resolve({
          event,
          identity: identities[i]!,
          ws,
          policy,
          newId: this.options.newProfileId,
        });
      } catch (error) {
        throw new EventFailure(event, error);
      }
      profileOf.push(resolution.profileId);
      for (const op of resolution.ops) ops.push(op);
    });
    const set = this.options.audiences;
    const before =
      set && set.compiled.topPercentRankings.length > 0
        ? (this.limits ??= await thresholds(store, set))
        : undefined;
    const writes = set
      ? await evaluateBatch({ store, set, events, profileOf, ops, now, current: before })
      : emptyWrites();
    return { ops, writes, before };
  }

  /**
   * Emits what a commit made: membership changes, and re-ranks where a threshold moved (only a
   * commit that wrote or dropped scores can move one).
   */
  async afterCommit(writes: AudienceWrites, before: Map<string, number> | undefined): Promise<void> {
    const { store, bus } = this.options;
    if (writes.changes.length > 0) bus.emit('engine.changes', { changes: writes.changes });
    if (!movesScores(writes)) return;
    this.limits = undefined;
    if (!before) return;
    const failed: ProfileFailure[] = [];
    const clock = this.options.clock ?? systemClock;
    const reranked = await evaluateMovedRankings({
      store,
      set: this.options.audiences!,
      before,
      now: clock.now(),
      failed,
    });
    this.skipped(failed, 'ranking');
    if (reranked.changes.length > 0 || reranked.states.length > 0) {
      await this.commitWrites(reranked);
      if (reranked.changes.length > 0) bus.emit('engine.changes', { changes: reranked.changes });
    }
  }

  /**
   * Wakes `due` up; when that fails deterministically (a profile's stored rows cannot be read,
   * say), each half on its own, down to the profile that fails, whose wake-up is dropped.
   */
  private async wakeUpIsolating(audiences: AudienceSet, due: readonly string[], now: number): Promise<void> {
    try {
      await this.wakeUp(audiences, due, now);
    } catch (error) {
      if (classifyFailure(error) === 'transient') throw error;
      if (due.length === 1) {
        await this.options.store.quarantine.dropWakeup(due[0]!);
        this.skipped([{ profileId: due[0]!, error }], 'window');
        return;
      }
      const half = Math.ceil(due.length / 2);
      await this.wakeUpIsolating(audiences, due.slice(0, half), now);
      await this.wakeUpIsolating(audiences, due.slice(half), now);
    }
  }

  private async wakeUp(audiences: AudienceSet, due: readonly string[], now: number): Promise<void> {
    const failed: ProfileFailure[] = [];
    const writes = await evaluateDue({
      store: this.options.store,
      set: audiences,
      profileIds: due,
      now,
      failed,
      current: (this.limits ??= await thresholds(this.options.store, audiences)),
    });
    await this.commitWrites(writes);
    this.skipped(failed, 'window');
    this.options.bus.emit('engine.changes', { changes: writes.changes });
  }

  /** Commits audience writes of no log batch (wake-ups, rankings); thresholds are read again if they moved scores. */
  private async commitWrites(writes: AudienceWrites): Promise<void> {
    await this.options.store.commit({ identity: [], audiences: writes });
    if (movesScores(writes)) this.limits = undefined;
  }

  /** Reports profiles skipped by a wake-up or a ranking; a transient failure among them is thrown. */
  private skipped(failed: readonly ProfileFailure[], reason: 'window' | 'ranking'): void {
    const transient = failed.find((f) => classifyFailure(f.error) === 'transient');
    if (transient) throw transient.error;
    for (const f of failed)
      this.options.bus.emit('processor.skipped', {
        profileId: f.profileId,
        reason,
        error: describeFailure(f.error),
      });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async processOne(): Promise<number> {
    // The log is read while marked events are looked for: both in one round trip's time.
    const ahead = this.readAhead();
    const retried = await retryQuarantined(this, {
      store: this.options.store,
      bus: this.options.bus,
      policy: this.options.policy,
      cursorName: this.cursorName,
      limit: this.batchSize,
      now: () => (this.options.clock ?? systemClock).now(),
    });
    if (retried > 0) {
      ahead?.read.catch(() => {});
      // It moved the retries cursor, and may have moved scores.
      this.retries = undefined;
      this.limits = undefined;
      return retried;
    }
    for (let first = true; ; first = false) {
      const n = await this.attemptBatch(first ? ahead : undefined);
      if (n !== undefined) return n;
    }
  }

  /** The next batch's read, started before it is needed (when the cursor is known). */
  private readAhead(): ReadAhead | undefined {
    if (this.position === undefined) return undefined;
    const read = this.read(this.position);
    return { after: this.position, size: this.size, read };
  }

  private read(after: number): Promise<BatchRead> {
    const set = this.options.audiences;
    return readBatch({
      log: this.options.store.events,
      after,
      limit: this.size,
      chunk: this.readChunk,
      policy: this.options.policy,
      keepsMessage: (e) => (set ? readByAudiences(set, e) : false),
    });
  }

  /**
   * One batch from the cursor, read by `ahead` when that read is of it; undefined when it must be
   * tried again (smaller, or from elsewhere).
   */
  private async attemptBatch(ahead?: ReadAhead): Promise<number | undefined> {
    const { store, bus } = this.options;
    const now = (this.options.clock ?? systemClock).now();
    const started = performance.now();
    const after = (this.position ??= await store.cursors.get(this.cursorName));
    const retries = (this.retries ??= await store.cursors.get(retriesCursor(this.cursorName)));
    const fits = ahead !== undefined && ahead.after === after && ahead.size === this.size;
    if (!fits) ahead?.read.catch(() => {});
    const read = await (fits ? ahead.read : this.read(after));
    const last = read.last;
    if (last === undefined) return 0;
    for (const { event, error } of read.unreadable) this.setAsideEvent(event, error);
    const kept = read.events.flatMap((e, i) => (this.setAside.has(e.offset) ? [] : [i]));
    const events = kept.map((i) => read.events[i]!);
    const identities = kept.map((i) => read.identities[i]!);
    const aside = [...this.setAside.values()].filter((a) => a.event.offset > after && a.event.offset <= last);
    let evaluated;
    try {
      evaluated = await this.evaluate(events, identities, now);
      await store.commit({
        cursor: { name: this.cursorName, from: after, to: last },
        guards: [{ name: retriesCursor(this.cursorName), from: retries, to: retries }],
        identity: evaluated.ops,
        audiences: evaluated.writes,
        ...(aside.length > 0 ? { quarantine: quarantineOf(aside, now) } : {}),
      });
    } catch (error) {
      if (error instanceof CursorMovedError) {
        // Another processor (an import beside `serve`) got there first: carry on from where it is.
        this.takeOver();
        return undefined;
      }
      if (classifyFailure(error) === 'transient') throw error;
      if (error instanceof EventFailure) this.setAsideEvent(error.event, error.cause);
      else if (events.length === 1) this.setAsideEvent(events[0]!, error);
      else if (events.length === 0) throw error;
      else this.size = Math.ceil(events.length / 2);
      return undefined;
    }
    this.position = last;
    for (const offset of this.setAside.keys()) if (offset <= last) this.setAside.delete(offset);
    if (this.size < this.batchSize) this.size = Math.min(this.batchSize, this.size * 2);
    for (const a of aside)
      bus.emit('processor.quarantined', { ...columnsOf(a.event), error: a.error, again: false });
    bus.emit('processor.batch', {
      events: events.length,
      offset: last,
      merges: evaluated.ops.filter((op) => op.op === 'merge').length,
      ms: performance.now() - started,
    });
    await this.afterCommit(evaluated.writes, evaluated.before);
    return events.length + aside.length;
  }

  private setAsideEvent(event: LoggedEvent, error: unknown): void {
    if (classifyFailure(error) === 'transient') throw error;
    this.setAside.set(event.offset, { event, error: describeFailure(error) });
  }
}
