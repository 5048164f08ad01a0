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
 * loses its members at 4h with no new event and no polling sweep. The timer is re-armed after
 * every batch (new events may bring an earlier wake-up) and capped so clock jumps are caught.
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private running: Promise<void> | undefined;

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
    void this.nextWakeAt().then((next) => {
      if (this.stopped) return;
      clearTimeout(this.timer);
      const delay =
        next === null ? this.maxDelayMs : Math.min(Math.max(0, next - this.clock.now()), this.maxDelayMs);
      this.timer = setTimeout(() => this.fire(), delay);
      this.timer.unref();
    }, this.onError);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private fire(): void {
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
