import type { Result } from '../shared/result.ts';
import { fail, ok } from '../shared/result.ts';

const NO_ZONE = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * The earliest time an event may carry: the Unix epoch. Clients that lost their clock send 0 or
 * negative times; nothing earlier is a real event, and an epoch number cannot express it.
 */
export const MIN_EVENT_TIME = 0;
/**
 * The latest time a field may state before the skew correction: the end of year 9999, the last
 * time ISO-8601 (and toISOString) writes with four digits. The corrected event time is held to
 * the server's clock plus `maxFutureSkew` instead.
 */
export const MAX_STATED_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses an ISO-8601 string or an epoch number (seconds below 1e11, else milliseconds) to ms since
 * the epoch; undefined when it is neither. The result may lie outside the range events may carry
 * (see `statedTime`).
 */
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

type TimeProblem = { code: string; message: string };

/** A time for messages: ISO-8601 when it is one, else the raw ms (no throw whatever the number). */
const shown = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms since the epoch`;

/** One time field, parsed and held to [MIN_EVENT_TIME, MAX_STATED_TIME]; undefined when absent. */
function statedTime(field: keyof MessageTimes, value: unknown): Result<number | undefined, TimeProblem> {
  if (value === undefined || value === null) return ok(undefined);
  const ms = parseTime(value);
  const sent = JSON.stringify(value);
  if (ms === undefined)
    return fail({
      code: 'invalid_timestamp',
      message: `${field} ${sent} is not an ISO-8601 time or epoch number`,
    });
  if (ms < MIN_EVENT_TIME)
    return fail({ code: 'invalid_timestamp', message: `${field} ${sent} is before 1970-01-01` });
  if (ms > MAX_STATED_TIME)
    return fail({
      code: 'invalid_timestamp',
      message: `${field} ${sent} is after 9999-12-31, beyond any time an event can carry`,
    });
  return ok(ms);
}

/**
 * The event's time per the Segment spec: `timestamp`, else `originalTimestamp`, shifted by the
 * client's clock skew (`receivedAt − sentAt`) when the client said when it sent the call. Each
 * field must lie between 1970 and 9999, and the corrected time no further ahead than
 * `maxFutureSkewMs`. With `earliest` (ingest passes MIN_EVENT_TIME), a corrected time before it is
 * refused too; without it, the answer says whether the fields are readable, whatever the skew.
 */
export function eventTime(
  m: MessageTimes,
  receivedAt: number,
  maxFutureSkewMs: number,
  { earliest }: { earliest?: number } = {},
): Result<number, TimeProblem> {
  const timestamp = statedTime('timestamp', m.timestamp);
  if (!timestamp.ok) return timestamp;
  const original = statedTime('originalTimestamp', m.originalTimestamp);
  if (!original.ok) return original;
  const sentAt = statedTime('sentAt', m.sentAt);
  if (!sentAt.ok) return sentAt;
  const field = timestamp.value !== undefined ? 'timestamp' : 'originalTimestamp';
  const stated = timestamp.value ?? original.value;
  if (stated === undefined) return ok(receivedAt);
  const skew = sentAt.value === undefined ? 0 : receivedAt - sentAt.value;
  const time = stated + skew;
  const corrected =
    skew === 0 ? '' : ` (${field} corrected by sentAt for the client's clock, which is ${skewText(skew)})`;
  if (earliest !== undefined && time < earliest)
    return fail({
      code: 'invalid_timestamp',
      message: `the event time ${shown(time)}${corrected} is before ${shown(earliest)}`,
    });
  if (time - receivedAt > maxFutureSkewMs) {
    return fail({
      code: 'timestamp_in_future',
      message: `the event time ${shown(time)}${corrected} is more than ${maxFutureSkewMs / 3_600_000}h ahead of the server's clock`,
    });
  }
  return ok(time);
}

function skewText(skewMs: number): string {
  const hours = Math.abs(skewMs) / 3_600_000;
  const amount =
    hours >= 48
      ? `${Math.round(hours / 24)} days`
      : hours >= 1
        ? `${hours.toFixed(1)}h`
        : `${Math.round(Math.abs(skewMs) / 1000)}s`;
  return `${amount} ${skewMs < 0 ? 'ahead' : 'behind'}`;
}
