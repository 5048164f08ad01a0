import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';

const NO_ZONE = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/** Parses an ISO-8601 string or an epoch number (seconds below 1e11, else milliseconds). */
export function parseTime(value: unknown): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) return undefined;
    return value < 1e11 ? Math.round(value * 1000) : Math.round(value);
  }
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  // A date-time with no zone is read as UTC, never as the server's local time.
  const ms = Date.parse(!value.endsWith('Z') && NO_ZONE.test(value) ? `${value}Z` : value);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface MessageTimes {
  timestamp?: unknown;
  originalTimestamp?: unknown;
  sentAt?: unknown;
}

/**
 * The event's time per the Segment spec: `timestamp`, else `originalTimestamp`, shifted by the
 * client's clock skew (`receivedAt − sentAt`) when the client said when it sent the call.
 */
export function eventTime(
  m: MessageTimes,
  receivedAt: number,
  maxFutureSkewMs: number,
): Result<number, { code: string; message: string }> {
  for (const field of ['timestamp', 'originalTimestamp', 'sentAt'] as const) {
    if (m[field] !== undefined && m[field] !== null && parseTime(m[field]) === undefined) {
      return fail({
        code: 'invalid_timestamp',
        message: `${field} ${JSON.stringify(m[field])} is not an ISO-8601 time or epoch number`,
      });
    }
  }
  const stated = parseTime(m.timestamp) ?? parseTime(m.originalTimestamp);
  const sentAt = parseTime(m.sentAt);
  const skew = sentAt === undefined ? 0 : receivedAt - sentAt;
  const time = stated === undefined ? receivedAt : stated + skew;
  if (time - receivedAt > maxFutureSkewMs) {
    return fail({
      code: 'timestamp_in_future',
      message: `timestamp ${new Date(time).toISOString()} is more than ${maxFutureSkewMs / 3_600_000}h ahead of the server's clock`,
    });
  }
  return ok(time);
}
