// The generator's options and the messages it yields.

export interface GenerateOptions {
  /** Shoppers in the population (default: events / 25). Not every one need appear. */
  profiles?: number;
  /** Messages to yield (default 10,000). */
  events?: number;
  /** PRNG seed; the same seed and options give the same messages (default 1). */
  seed?: number | string;
  /** Start of the time span: epoch ms, a Date or an ISO string (default 2025-01-01T00:00:00Z). */
  start?: number | Date | string;
  /** Length of the time span in ms (default 30 days). Timestamps fall in [start, start + spanMs). */
  spanMs?: number;
}

export type GeneratedType = 'identify' | 'track' | 'page';

/** A Segment-spec message as analytics.js (browser) or analytics-node (backend) would send it. */
export interface GeneratedMessage {
  type: GeneratedType;
  messageId: string;
  /** ISO-8601, millisecond precision, UTC. */
  timestamp: string;
  anonymousId?: string;
  userId?: string;
  /** Track event name. */
  event?: string;
  /** Page name. */
  name?: string;
  properties?: Record<string, unknown>;
  traits?: Record<string, unknown>;
  context: Record<string, unknown>;
  integrations: Record<string, unknown>;
}

export const DEFAULT_START = Date.UTC(2025, 0, 1);
export const DEFAULT_SPAN_MS = 30 * 24 * 3_600_000;
