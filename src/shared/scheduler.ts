import type { Clock } from './clock.ts';

/** What a Scheduler fires, and when. */
export interface SchedulerOptions {
  /** The earliest pending wake-up (ms), or null when none. */
  nextWakeAt: () => Promise<number | null>;
  /** Runs what is due; resolves to how many it ran (the scheduler repeats while it is above 0). */
  runDue: () => Promise<number>;
  clock: Clock;
  onError: (error: unknown) => void;
  /** The longest the timer sleeps, so clock jumps are caught (ms; default 30 s). */
  maxDelayMs?: number;
}

/**
 * Fires wake-ups on time: one timer, armed for the earliest pending wake-up, so a 0–4h audience
 * loses its members at 4h with no new event and no polling sweep. After each run it looks for the
 * earliest pending wake-up again; a commit that brings an earlier one says so (`wakeBy`), so a
 * batch of events costs no look. The timer is capped so clock jumps, and wake-ups other processes
 * wrote, are caught.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private running: Promise<void> | undefined;
  /** When the timer fires (ms), while it is set. */
  private armedFor: number | undefined;
  /** Looks at the earliest wake-up in flight, and the earliest `wakeBy` said while any was. */
  private looking = 0;
  private saidWhileLooking = Number.POSITIVE_INFINITY;

  private readonly nextWakeAt: () => Promise<number | null>;
  private readonly runDue: () => Promise<number>;
  private readonly clock: Clock;
  private readonly onError: (error: unknown) => void;
  private readonly maxDelayMs: number;

  constructor({ nextWakeAt, runDue, clock, onError, maxDelayMs = 30_000 }: SchedulerOptions) {
    this.nextWakeAt = nextWakeAt;
    this.runDue = runDue;
    this.clock = clock;
    this.onError = onError;
    this.maxDelayMs = maxDelayMs;
  }

  start(): void {
    this.stopped = false;
    this.rearm();
  }

  /** Looks again at the earliest wake-up and sets the timer for it. */
  rearm(): void {
    if (this.stopped) return;
    this.looking++;
    void this.nextWakeAt()
      .then((next) => {
        // A wake-up said during the look may have committed after the look read.
        const at = Math.min(next ?? Number.POSITIVE_INFINITY, this.saidWhileLooking);
        if (!this.stopped) this.arm(at);
      }, this.onError)
      .finally(() => {
        if (--this.looking === 0) this.saidWhileLooking = Number.POSITIVE_INFINITY;
      });
  }

  /**
   * A wake-up at `at` (ms) was just committed: the timer fires by then. No look at the store is
   * needed, since the earliest pending wake-up can only have moved earlier by it.
   */
  wakeBy(at: number): void {
    if (this.stopped) return;
    if (this.looking > 0) this.saidWhileLooking = Math.min(this.saidWhileLooking, at);
    // A run looks again when it ends.
    if (this.running || (this.armedFor !== undefined && this.armedFor <= at)) return;
    this.arm(at);
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    const delay = Math.min(Math.max(0, at - this.clock.now()), this.maxDelayMs);
    this.armedFor = this.clock.now() + delay;
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.armedFor = undefined;
    await this.running;
  }

  private fire(): void {
    this.armedFor = undefined;
    if (this.running) return;
    this.running = (async () => {
      try {
        while (!this.stopped && (await this.runDue()) > 0);
      } catch (error) {
        this.onError(error);
      } finally {
        this.running = undefined;
        this.rearm();
      }
    })();
  }
}
