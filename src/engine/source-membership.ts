// Audiences fed by a source (a Customer.io segment) have no condition: their membership is what
// the source last said. The source speaks through the event log, one event per enter or exit, so
// its changes are durable, ordered with everything else the profile did, follow the profile
// through merges and deletes, and re-evaluate the audiences that reference them.
import type { LoggedEvent } from '../ingest/event.ts';
import { isRecord } from '../shared/is-record.ts';

/**
 * The track events through which a source moves people: `entered` puts a person into the audience
 * named by the event's `audience` property, `exited` takes them out. The source owns the names
 * (Customer.io's are in sources/customerio/messages.ts); the composition root passes them in.
 */
export interface SourceEventNames {
  entered: string;
  exited: string;
}

/** What a source said last about one audience, and the event that said it. */
export interface SourceVerdict {
  member: boolean;
  event: LoggedEvent;
}

/** Whether the event is named as a source's enter or exit, by its columns alone. */
export const isSourceEvent = (names: SourceEventNames, event: LoggedEvent): boolean =>
  event.type === 'track' && (event.name === names.entered || event.name === names.exited);

/** The audience a source event is about, or undefined when `event` is not one. */
export function sourceEventAudience(names: SourceEventNames, event: LoggedEvent): string | undefined {
  if (!isSourceEvent(names, event)) return undefined;
  const properties = (event.message as { properties?: unknown }).properties;
  return isRecord(properties) && typeof properties.audience === 'string' ? properties.audience : undefined;
}

/** The last word of the source on each of `audiences` among `events` (in log order). */
export function sourceVerdicts(
  names: SourceEventNames,
  audiences: ReadonlySet<string>,
  events: readonly LoggedEvent[],
): Map<string, SourceVerdict> {
  const out = new Map<string, SourceVerdict>();
  if (audiences.size === 0) return out;
  for (const event of events) {
    const audience = sourceEventAudience(names, event);
    if (audience !== undefined && audiences.has(audience))
      out.set(audience, { member: event.name === names.entered, event });
  }
  return out;
}
