import type { RetryPolicy } from './failure.ts';
import { backoffMs } from './failure.ts';

/** Once a second, as the safety-net interval would: the default for work with no policy of its own. */
const STEADY: RetryPolicy = { initialMs: 1_000, multiplier: 1, maxMs: 1_000, jitter: 0 };

/**
 * Runs a unit of work whenever it is poked, and on an interval as a safety net; never two at once.
 * A poke during a run schedules one more run, so no notification is lost. A run that fails is
 * retried after a backoff (`retry`); pokes meanwhile wait for it, so a database that stays busy
 * or full is not hammered once a second.
 */
export class Runner {
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = true;

  constructor(
    private readonly work: () => Promise<unknown>,
    private readonly onError: (error: unknown, retryInMs: number) => void,
    private readonly intervalMs = 1000,
    private readonly retry: RetryPolicy = STEADY,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.poke(), this.intervalMs);
    this.timer.unref();
    this.poke();
  }

  poke(): void {
    if (this.stopped || this.retryTimer !== undefined) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => (this.running = undefined));
  }

  /** Stops scheduling and waits for the run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    await this.running;
  }

  /** Resolves once no run is in progress or pending. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.work();
        this.failures = 0;
      } catch (error) {
        const wait = backoffMs(this.retry, ++this.failures);
        this.onError(error, wait);
        if (this.stopped) return;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.poke();
        }, wait);
        this.retryTimer.unref();
        return;
      }
    } while (this.again && !this.stopped);
  }
}
