// Leases let several processes share one database while each background job runs in exactly one
// of them: a job runs only while its process holds the job's lease row, renewed well before it
// expires. A holder that stops renewing (killed, frozen, cut off) loses the lease when it expires,
// and another process takes it with the next epoch.

/** One lease as the store holds it. */
export interface Lease {
  /** The job's name (`processor`, `sync:cordial`, …). */
  name: string;
  /** The process that holds or last held it. */
  holder: string;
  /** Raised each time a new tenure begins: a fencing token. */
  epoch: number;
  /** When it lapses unless renewed (ms since the epoch, by the store's clock). */
  expiresAt: number;
  /** Whether it had lapsed when read (by the store's clock). */
  expired: boolean;
}

/** The lease port: one row per job, compared and set by the store (its own clock decides expiry). */
export interface LeaseStore {
  /**
   * Takes `name` for `holder` for `ttlMs`: renews it (same epoch) when `holder` holds it and it has
   * not lapsed; takes it (epoch + 1) when it is free or lapsed; else undefined (another holds it).
   */
  acquire(name: string, holder: string, ttlMs: number): Promise<{ epoch: number } | undefined>;
  /** Lets the lease lapse now, when `holder` still holds it at `epoch`. */
  release(name: string, holder: string, epoch: number): Promise<void>;
  /** Every lease, by name. */
  list(): Promise<Lease[]>;
}

/** Thrown by a fence when the lease that allowed the work is no longer held. */
export class LeaseLostError extends Error {
  readonly code = 'lease_lost';
  constructor(readonly lease: string) {
    super(`the ${lease} lease is no longer held by this process; the work stops`);
    this.name = 'LeaseLostError';
  }
}

/** A job that runs only while its lease is held. */
export interface LeasedJob {
  name: string;
  start(): void;
  /** Stops at once; resolves when work in flight is done. */
  stop(): Promise<void>;
}

/** Timers the keeper uses; injected so tests drive them. */
export interface LeaseTimers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(timer: unknown): void;
  /** A monotonic clock (ms): a host clock step does not move it. */
  now(): number;
}

export const realTimers: LeaseTimers = {
  setTimeout: (run, ms) => {
    const t = setTimeout(run, ms);
    t.unref();
    return t;
  },
  clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
  now: () => performance.now(),
};

/** Lease timing (ms): a holder renews every ttl/3; others try every `retryMs`. */
export interface LeaseTiming {
  /** How long a lease lasts unless renewed; default 5000. */
  ttlMs: number;
  /** How often a process without the lease tries to take it; default 1000. */
  retryMs: number;
  /** Safety margin (ms) under the TTL within which a holder stops trusting its lease; default ttl/5. */
  marginMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { ttlMs: 5_000, retryMs: 1_000, marginMs: 1_000 };

export interface LeaseKeeperOptions {
  store: LeaseStore;
  job: LeasedJob;
  holder: string;
  timing?: LeaseTiming;
  timers?: LeaseTimers;
  onError?: (error: unknown) => void;
  /** Told when the lease is taken or lost. */
  onChange?: (held: boolean, epoch: number) => void;
}

/**
 * Keeps one job's lease: tries to take it, renews it every ttl/3, starts the job when it is taken
 * and stops it at once when a renew fails, another process holds it, or the last successful renew
 * began too long ago (the process was frozen or the store hangs).
 */
export class LeaseKeeper {
  private readonly timing: LeaseTiming;
  private readonly timers: LeaseTimers;
  private timer: unknown;
  private expiry: unknown;
  private epoch = 0;
  private heldSince: number | undefined;
  private running = false;
  private stopped = true;
  private transition: Promise<void> = Promise.resolve();
  private tick: Promise<void> | undefined;
  private triedOnce!: () => void;
  /** Resolves once the first try to take the lease has ended (and the job, if it was taken, started). */
  readonly firstTry = new Promise<void>((resolve) => (this.triedOnce = resolve));

  constructor(private readonly options: LeaseKeeperOptions) {
    this.timing = options.timing ?? DEFAULT_LEASE_TIMING;
    this.timers = options.timers ?? realTimers;
  }

  get name(): string {
    return this.options.job.name;
  }

  /** Whether this process may act under the lease now: held, and renewed recently enough. */
  holds(): boolean {
    return (
      this.heldSince !== undefined &&
      this.timers.now() - this.heldSince < this.timing.ttlMs - this.timing.marginMs
    );
  }

  /** Throws LeaseLostError unless `holds()`: call before each external side effect. */
  fence(): void {
    if (!this.holds()) throw new LeaseLostError(this.name);
  }

  /** The epoch of the current tenure (0 before the first). */
  get currentEpoch(): number {
    return this.epoch;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops the job (when running) and releases the lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.triedOnce();
    this.timers.clearTimeout(this.timer);
    this.timers.clearTimeout(this.expiry);
    await this.tick;
    const held = this.heldSince !== undefined;
    this.lose();
    await this.transition;
    if (held)
      await this.options.store
        .release(this.name, this.options.holder, this.epoch)
        .catch((error: unknown) => this.options.onError?.(error));
  }

  private schedule(ms: number): void {
    this.timers.clearTimeout(this.timer);
    this.timer = this.timers.setTimeout(() => {
      this.tick = this.renew()
        .then(() => this.transition)
        .finally(() => {
          this.tick = undefined;
          this.triedOnce();
        });
    }, ms);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    const began = this.timers.now();
    // A renew that began after the lease could have lapsed proves nothing about the time between.
    if (this.heldSince !== undefined && !this.holds()) this.lose();
    let grant: { epoch: number } | undefined;
    try {
      grant = await this.options.store.acquire(this.name, this.options.holder, this.timing.ttlMs);
    } catch (error) {
      this.options.onError?.(error);
      grant = undefined;
    }
    if (this.stopped) return;
    if (grant === undefined) {
      this.lose();
      this.schedule(this.timing.retryMs);
      return;
    }
    // A new epoch while we thought we held it: the lease lapsed in between; restart the job.
    if (this.heldSince !== undefined && grant.epoch !== this.epoch) this.lose();
    // A renew that took longer than the TTL came back too late to count.
    if (this.timers.now() - began >= this.timing.ttlMs - this.timing.marginMs) {
      this.lose();
      this.schedule(0);
      return;
    }
    const fresh = this.heldSince === undefined;
    this.heldSince = began;
    this.epoch = grant.epoch;
    this.timers.clearTimeout(this.expiry);
    const trusted = this.timing.ttlMs - this.timing.marginMs - (this.timers.now() - began);
    this.expiry = this.timers.setTimeout(() => this.lose(), trusted);
    if (fresh) this.gain();
    this.schedule(Math.floor(this.timing.ttlMs / 3));
  }

  private gain(): void {
    const epoch = this.epoch;
    this.options.onChange?.(true, epoch);
    this.transition = this.transition.then(() => {
      if (this.heldSince === undefined || this.epoch !== epoch || this.running) return;
      this.running = true;
      this.options.job.start();
    });
  }

  private lose(): void {
    this.timers.clearTimeout(this.expiry);
    if (this.heldSince === undefined) return;
    this.heldSince = undefined;
    this.options.onChange?.(false, this.epoch);
    this.transition = this.transition.then(async () => {
      if (!this.running) return;
      this.running = false;
      await this.options.job.stop().catch((error: unknown) => this.options.onError?.(error));
    });
  }
}
