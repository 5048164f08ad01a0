import type { IdentityOp, IdentityPolicy } from '../identity/model.ts';
import { identityOf, lookupKeys, resolve } from '../identity/resolve.ts';
import { WorkingSet } from '../identity/working-set.ts';
import type { EventBus } from '../shared/bus.ts';
import type { Store } from '../store/ports.ts';
import { CursorMovedError } from '../store/ports.ts';

export interface ProcessorOptions {
  store: Store;
  policy: IdentityPolicy;
  bus: EventBus;
  newProfileId: () => string;
  /** Events read and committed per transaction. Default 1000. */
  batchSize?: number;
  /** The durable cursor's name. Default `processor`. */
  cursorName?: string;
}

/**
 * Reads the event log after its durable cursor and resolves each event to a profile. A batch's
 * identity changes and the new cursor commit in one transaction, so a crash resumes at the cursor
 * with nothing lost and nothing applied twice.
 */
export class Processor {
  private readonly batchSize: number;
  private readonly cursorName: string;
  private position: number | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProcessorOptions) {
    this.batchSize = options.batchSize ?? 1000;
    this.cursorName = options.cursorName ?? 'processor';
  }

  /** Processes at most one batch; returns how many events it processed. Calls never overlap. */
  processBatch(): Promise<number> {
    const run = this.queue.then(() => this.processOne());
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async processOne(): Promise<number> {
    const { store, policy, bus } = this.options;
    const started = performance.now();
    const after = (this.position ??= await store.cursors.get(this.cursorName));
    const events = await store.events.readAfter(after, this.batchSize);
    const last = events.at(-1);
    if (last === undefined) return 0;

    const identities = events.map((e) => identityOf(e, policy));
    const ws = new WorkingSet(await store.identity.snapshot(identities.flatMap(lookupKeys)));
    const ops: IdentityOp[] = [];
    let merges = 0;
    events.forEach((event, i) => {
      const resolution = resolve(event, identities[i]!, ws, policy, this.options.newProfileId);
      for (const op of resolution.ops) {
        ops.push(op);
        if (op.op === 'merge') merges++;
      }
    });
    try {
      await store.identity.commit(ops, this.cursorName, after, last.offset);
    } catch (error) {
      if (!(error instanceof CursorMovedError)) throw error;
      // Another processor (an import beside `serve`) got there first: carry on from where it is.
      this.position = undefined;
      return this.processOne();
    }
    this.position = last.offset;
    bus.emit('processor.batch', { events: events.length, offset: last.offset, merges, ms: performance.now() - started });
    return events.length;
  }

  /** Processes until the log is exhausted; returns the number of events processed. */
  async drain(): Promise<number> {
    let total = 0;
    for (let n = await this.processBatch(); n > 0; n = await this.processBatch()) total += n;
    return total;
  }
}
