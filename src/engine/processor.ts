import { setImmediate } from 'node:timers/promises';
import type { IdentityOp, IdentityPolicy } from '../identity/model.ts';
import { lookupKeys, resolve } from '../identity/resolve.ts';
import { WorkingSet } from '../identity/working-set.ts';
import type { Bus } from './events.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { Store } from '../store/ports.ts';
import { CursorMovedError } from '../store/ports.ts';
import type { AudienceSet } from './audience-stage.ts';
import { readBatch } from './batch-read.ts';
import {
  evaluateBatch,
  evaluateDue,
  evaluateMovedRankings,
  evaluateRankings,
  readByAudiences,
  thresholds,
} from './evaluate-batch.ts';

export interface ProcessorOptions {
  store: Store;
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
 */
export class Processor {
  private readonly batchSize: number;
  private readonly readChunk: number;
  private readonly cursorName: string;
  private position: number | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProcessorOptions) {
    this.batchSize = options.batchSize ?? 40_000;
    this.readChunk = options.readChunk ?? 2_000;
    this.cursorName = options.cursorName ?? 'processor';
  }

  /** Processes at most one batch; returns how many events it processed. Calls never overlap. */
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
   */
  processWakeups(limit = 40_000): Promise<number> {
    const { audiences, store } = this.options;
    const clock = this.options.clock ?? systemClock;
    if (!audiences) return Promise.resolve(0);
    return this.serially(async () => {
      const now = clock.now();
      const due = await store.audiences.due(now, limit);
      if (due.length === 0) return 0;
      const writes = await evaluateDue(store, audiences, due, now);
      await store.commit({ identity: [], audiences: writes });
      this.options.bus.emit('engine.changes', { changes: writes.changes });
      return due.length;
    });
  }

  /** Re-ranks top-percent audiences against fresh thresholds; returns how many changes that made. */
  refreshRankings(): Promise<number> {
    const { audiences, store } = this.options;
    if (!audiences || audiences.compiled.topPercentRankings.length === 0) return Promise.resolve(0);
    return this.serially(async () => {
      const writes = await evaluateRankings(store, audiences, (this.options.clock ?? systemClock).now());
      await store.commit({ identity: [], audiences: writes });
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

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async processOne(): Promise<number> {
    const { store, policy, bus } = this.options;
    const clock = this.options.clock ?? systemClock;
    const started = performance.now();
    const after = (this.position ??= await store.cursors.get(this.cursorName));
    const set = this.options.audiences;
    const { events, identities } = await readBatch(
      store.events,
      after,
      this.batchSize,
      this.readChunk,
      policy,
      set ? (e) => readByAudiences(set, e) : () => false,
    );
    const last = events.at(-1);
    if (last === undefined) return 0;

    const ws = new WorkingSet(await store.identity.snapshot(identities.flatMap(lookupKeys)));
    const ops: IdentityOp[] = [];
    const profileOf: string[] = [];
    events.forEach((event, i) => {
      const resolution = resolve(event, identities[i]!, ws, policy, this.options.newProfileId);
      profileOf.push(resolution.profileId);
      ops.push(...resolution.ops);
    });
    const ranked = this.options.audiences && this.options.audiences.compiled.topPercentRankings.length > 0;
    const thresholdsBefore = ranked ? await thresholds(store, this.options.audiences!) : undefined;
    const writes = this.options.audiences
      ? await evaluateBatch(
          store,
          this.options.audiences,
          events,
          profileOf,
          ops,
          clock.now(),
          thresholdsBefore,
        )
      : undefined;
    try {
      await store.commit({
        cursor: { name: this.cursorName, from: after, to: last.offset },
        identity: ops,
        audiences: writes ?? { states: [], entered: [], exited: [], changes: [], scores: [], dropped: [] },
      });
    } catch (error) {
      if (!(error instanceof CursorMovedError)) throw error;
      // Another processor (an import beside `serve`) got there first: carry on from where it is.
      this.position = undefined;
      return this.processOne();
    }
    this.position = last.offset;
    const merges = ops.filter((op) => op.op === 'merge').length;
    bus.emit('processor.batch', {
      events: events.length,
      offset: last.offset,
      merges,
      ms: performance.now() - started,
    });
    if (writes && writes.changes.length > 0) bus.emit('engine.changes', { changes: writes.changes });
    if (thresholdsBefore) {
      const reranked = await evaluateMovedRankings(
        store,
        this.options.audiences!,
        thresholdsBefore,
        clock.now(),
      );
      if (reranked.changes.length > 0 || reranked.states.length > 0) {
        await store.commit({ identity: [], audiences: reranked });
        if (reranked.changes.length > 0) bus.emit('engine.changes', { changes: reranked.changes });
      }
    }
    return events.length;
  }
}
