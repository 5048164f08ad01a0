import type { Clock } from '../shared/clock.ts';
import { alertMessage } from './alert-message.ts';
import type { CheckResult, CheckStatus } from './checks.ts';
import type { AlertStateStore } from './ports.ts';
import type { Snapshot } from './snapshot.ts';

/** Sends one message; resolves whether the receiver accepted it. */
export type AlertPoster = (url: string, body: { text: string }) => Promise<{ ok: boolean; status?: number }>;

export interface AlertNotifierOptions {
  store: AlertStateStore;
  /** Webhook URLs, in config order. */
  webhooks: readonly string[];
  clock: Clock;
  post: AlertPoster;
  /** Told of each failed delivery (it is retried) and failed state write. */
  onError: (error: unknown, what: string) => void;
  /** First retry delay (ms), doubled per attempt up to `maxRetryMs`. Default 1,000. */
  retryMs?: number;
  /** Longest retry delay (ms). Default 300,000. */
  maxRetryMs?: number;
}

interface Pending {
  url: string;
  status: CheckStatus;
  body: { text: string };
  attempts: number;
  nextAt: number;
}

const keyOf = (target: number, c: CheckResult) => `${target}|${c.check}|${c.audience}|${c.destination}`;

/**
 * Announces check status changes to webhooks: once when a check turns warn or fail, once when it
 * recovers, never while it stays put. The announced status is durable and written only after the
 * receiver accepted the message, so a delivery that a crash interrupted is sent after the restart
 * and a delivered one is not repeated. Failed deliveries retry with exponential backoff in the
 * background; `observe` never waits for the network.
 */
export class AlertNotifier {
  private announced: Promise<Map<string, CheckStatus>> | undefined;
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: AlertNotifierOptions) {}

  /** Queues a message for every check whose status differs from the one last announced. */
  async observe(snapshot: Snapshot): Promise<void> {
    this.announced ??= this.options.store.alertStates();
    const announced = await this.announced.catch((error: unknown) => {
      this.announced = undefined;
      throw error;
    });
    const results = [...snapshot.audiences.flatMap((a) => a.checks), ...snapshot.checks];
    this.options.webhooks.forEach((url, target) => {
      for (const c of results) {
        const key = keyOf(target, c);
        const previous = announced.get(key) ?? 'pass';
        if (c.status === previous) {
          this.pending.delete(key);
          continue;
        }
        if (this.pending.get(key)?.status === c.status) continue;
        this.pending.set(key, {
          url,
          status: c.status,
          body: alertMessage(c, previous),
          attempts: 0,
          nextAt: snapshot.at,
        });
      }
    });
    this.kick();
  }

  /** Resolves once no delivery is in progress. */
  async idle(): Promise<void> {
    while (this.draining) await this.draining;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.idle();
  }

  private kick(): void {
    if (this.draining || this.stopped) return;
    this.draining = this.drain().finally(() => {
      this.draining = undefined;
      this.arm();
    });
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.stopped || this.pending.size === 0) return;
    const next = Math.min(...[...this.pending.values()].map((p) => p.nextAt));
    this.timer = setTimeout(() => this.kick(), Math.max(0, next - this.options.clock.now()));
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    const { clock, post, store, onError } = this.options;
    const announced = await this.announced!;
    for (const [key, p] of [...this.pending]) {
      if (p.nextAt > clock.now() || this.stopped) continue;
      let accepted = false;
      try {
        const res = await post(p.url, p.body);
        accepted = res.ok;
        if (!accepted)
          onError(new Error(`the alert webhook answered ${res.status ?? 'an error'}`), 'alert delivery');
      } catch (error) {
        onError(error, 'alert delivery');
      }
      if (this.pending.get(key) !== p) continue; // superseded while it was being sent
      if (!accepted) {
        p.attempts++;
        const retry = this.options.retryMs ?? 1_000;
        p.nextAt = clock.now() + Math.min(this.options.maxRetryMs ?? 300_000, retry * 2 ** (p.attempts - 1));
        continue;
      }
      this.pending.delete(key);
      announced.set(key, p.status);
      await store
        .setAlertState(key, p.status, clock.now())
        .catch((error: unknown) => onError(error, 'alert state'));
    }
  }
}

/** Posts JSON with a timeout, for a real webhook. */
export const postJson =
  (timeoutMs = 10_000): AlertPoster =>
  async (url, body) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return { ok: res.ok, status: res.status };
  };
