import type { Clock } from '../shared/clock.ts';
import type { MonitorPorts } from './ports.ts';
import type { CheckSettings, Snapshot } from './snapshot.ts';
import { samplesOf, takeSnapshot } from './snapshot.ts';

export interface CheckRunnerOptions {
  store: MonitorPorts;
  settings: CheckSettings;
  clock: Clock;
  onError: (error: unknown) => void;
  /** Told of each stored snapshot (alerting); must not throw or wait. */
  onSnapshot?: (snapshot: Snapshot) => void;
}

/**
 * Computes every check on an interval (`monitoring.checkInterval`) and stores each as a time
 * series, with each audience's size; samples older than `monitoring.retention` are dropped.
 */
export class CheckRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Snapshot | undefined> | undefined;
  private last: Snapshot | undefined;

  constructor(private readonly options: CheckRunnerOptions) {}

  /** The most recent snapshot, if a run has completed. */
  get latest(): Snapshot | undefined {
    return this.last;
  }

  start(): void {
    if (this.timer) return;
    this.poke();
    this.timer = setInterval(() => this.poke(), this.options.settings.monitoring.checkIntervalMs);
    this.timer.unref();
  }

  /** Runs the checks once now and stores the samples; returns the snapshot. */
  async runOnce(): Promise<Snapshot> {
    const { store, settings, clock } = this.options;
    const now = clock.now();
    const snapshot = await takeSnapshot(store, settings, now);
    await store.monitor.record(samplesOf(snapshot));
    await store.monitor.prune(now - settings.monitoring.retentionMs);
    await store.requests.prune(now - settings.monitoring.retentionMs);
    this.last = snapshot;
    this.options.onSnapshot?.(snapshot);
    return snapshot;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private poke(): void {
    // One run at a time: a slow run is not stacked on.
    if (this.running) return;
    this.running = this.runOnce()
      .catch((error: unknown) => {
        this.options.onError(error);
        return undefined;
      })
      .finally(() => {
        this.running = undefined;
      });
  }
}
