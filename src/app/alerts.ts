import type { Config } from '../config/load.ts';
import { AlertNotifier, postJson } from '../monitor/alert-notifier.ts';
import type { AlertPoster } from '../monitor/alert-notifier.ts';
import type { Clock } from '../shared/clock.ts';
import type { Store } from '../store/ports.ts';
import type { Logger } from '../shared/logger.ts';

/** What the alert notifier is wired from; `post` sends a webhook (JSON over HTTP by default). */
export interface AlertWiring {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  post?: AlertPoster;
  /** Throws when this process may no longer alert (its monitor lease was lost). */
  fence?: () => void;
}

/** The webhook notifier for `monitoring.alerts`; undefined when none is configured (or none has its URL set). */
export function createAlertNotifier({
  config,
  store,
  clock,
  logger,
  post = postJson(),
  fence = () => undefined,
}: AlertWiring):
  { observe(snapshot: Parameters<AlertNotifier['observe']>[0]): void; stop(): Promise<void> } | undefined {
  const urls: string[] = [];
  for (const { webhook } of config.monitoring.alerts) {
    if (webhook.url.value === undefined)
      logger.warn(
        { variable: webhook.url.env },
        `${webhook.url.env} is not set: that alert webhook is off until it is`,
      );
    else urls.push(webhook.url.value);
  }
  if (urls.length === 0) return undefined;
  const notifier = new AlertNotifier({
    store: store.alerts,
    webhooks: urls,
    clock,
    post: (url, body) => {
      fence();
      return post(url, body);
    },
    // The URL carries a token: errors name the webhook by its variable, never by its URL.
    onError: (error, what) =>
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        `${what} failed; it will be retried`,
      ),
  });
  return {
    observe: (snapshot) =>
      void notifier
        .observe(snapshot)
        .catch((error: unknown) =>
          logger.error({ err: error }, 'alerting could not read its state; it will try again'),
        ),
    stop: () => notifier.stop(),
  };
}
