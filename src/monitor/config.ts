/** Monitoring settings, resolved: durations in ms, thresholds as fractions. */
export interface MonitoringConfig {
  /** How often checks run while serving (ms). Default 1m. */
  checkIntervalMs: number;
  /** Size drift beyond this fraction of the trailing 7-day mean warns. Default 0.3. */
  driftThreshold: number;
  /** Exits unacknowledged for longer than this fail (ms). Default 15m. */
  exitAckDeadlineMs: number;
  /** A match rate below this fraction warns. Default 0.9. */
  matchRateWarn: number;
  /** A wake-up pending this long past due is overdue (ms). Default 5m. */
  overdueWakeupAfterMs: number;
  /** The conversion event for holdout vs treated. Default `Order Completed`. */
  conversionEvent: string;
  /** How long check samples are kept (ms). Default 90d. */
  retentionMs: number;
  /** Webhooks told when a check turns warn or fail, and when it recovers. Default none. */
  alerts: readonly { webhook: { url: { env: string; value: string | undefined } } }[];
}

/** The defaults, for callers without a config file section. */
export const DEFAULT_MONITORING: MonitoringConfig = {
  checkIntervalMs: 60_000,
  driftThreshold: 0.3,
  exitAckDeadlineMs: 15 * 60_000,
  matchRateWarn: 0.9,
  overdueWakeupAfterMs: 5 * 60_000,
  conversionEvent: 'Order Completed',
  retentionMs: 90 * 86_400_000,
  alerts: [],
};
