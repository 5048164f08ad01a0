// Audiences fed by a source (a Customer.io segment) have no condition: their membership is what
// the source last said. The source speaks through the event log, one event per enter or exit, so
// its changes are durable, ordered with everything else the profile did, follow the profile
// through merges and deletes, and re-evaluate the audiences that reference them.
import type { LoggedEvent } from '../ingest/event.ts';

/** The event a source logs when it puts a person into an audience. */
export const SOURCE_ENTERED = 'Customer.io Segment Entered';
/** The event a source logs when it takes a person out of an audience. */
export const SOURCE_EXITED = 'Customer.io Segment Exited';

/** What a source said last about one audience, and the event that said it. */
export interface SourceVerdict {
  member: boolean;
  event: LoggedEvent;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether the event is named as a source's enter or exit, by its columns alone. */
export const isSourceEvent = (event: LoggedEvent): boolean =>
  event.type === 'track' && (event.name === SOURCE_ENTERED || event.name === SOURCE_EXITED);

/** The audience a source event is about, or undefined when `event` is not one. */
export function sourceEventAudience(event: LoggedEvent): string | undefined {
  if (!isSourceEvent(event)) return undefined;
  const properties = (event.message as { properties?: unknown }).properties;
  return isRecord(properties) && typeof properties.audience === 'string' ? properties.audience : undefined;
}

/** The last word of the source on each of `audiences` among `events` (in log order). */
export function sourceVerdicts(
  audiences: ReadonlySet<string>,
  events: readonly LoggedEvent[],
): Map<string, SourceVerdict> {
  const out = new Map<string, SourceVerdict>();
  if (audiences.size === 0) return out;
  for (const event of events) {
    const audience = sourceEventAudience(event);
    if (audience !== undefined && audiences.has(audience))
      out.set(audience, { member: event.name === SOURCE_ENTERED, event });
  }
  return out;
}
