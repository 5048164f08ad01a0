import { setImmediate } from 'node:timers/promises';
import type { IdentityPolicy } from '../identity/model.ts';
import type { MessageIdentity } from '../identity/resolve.ts';
import { identityOf } from '../identity/resolve.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { Message, MessageType } from '../ingest/messages.ts';
import type { EventLog } from '../ingest/ports.ts';

/** A processor batch as read from the log: its events, and who each one says it is from. */
export interface BatchRead {
  events: LoggedEvent[];
  identities: MessageIdentity[];
  /** Events whose identity could not be read (a body that is not JSON, say), with what was thrown. */
  unreadable: { event: LoggedEvent; error: unknown }[];
  /** The offset of the last event read, unreadable ones included; undefined when none was. */
  last: number | undefined;
}

/** A batch's read started early: from `after`, at most `size` events. */
export interface ReadAhead {
  after: number;
  size: number;
  read: Promise<BatchRead>;
}

/** Up to `limit` events after offset `after`, read `chunk` at a time; `keepsMessage` says which events keep their parsed message. */
export interface BatchReadOptions {
  log: EventLog;
  after: number;
  limit: number;
  chunk: number;
  policy: IdentityPolicy;
  keepsMessage: (event: LoggedEvent) => boolean;
}

/**
 * Reads up to `limit` events after `after`, `chunk` at a time, and takes each event's identity as
 * it is read. An event whose message nothing reads again (`keepsMessage` says no: no audience
 * condition names it) is kept as its columns only, so a large batch holds the bodies of the
 * events its audiences read and not those of every page view: bodies read and dropped within a
 * chunk die young instead of being promoted with the batch. Yields to the event loop between
 * chunks, so requests are served while a backlog is read.
 */
export async function readBatch({
  log,
  after,
  limit,
  chunk,
  policy,
  keepsMessage,
}: BatchReadOptions): Promise<BatchRead> {
  const events: LoggedEvent[] = [];
  const identities: MessageIdentity[] = [];
  const unreadable: BatchRead['unreadable'] = [];
  let last: number | undefined;
  for (let count = 0, from = after; count < limit;) {
    if (count > 0) await setImmediate();
    const size = Math.min(chunk, limit - count);
    const read = await log.readAfter(from, size);
    for (const event of read) {
      let identity: MessageIdentity;
      try {
        identity = identityOf(event, policy);
      } catch (error) {
        unreadable.push({ event: new ColumnsOnly(event), error });
        continue;
      }
      identities.push(identity);
      events.push(keepsMessage(event) ? event : new ColumnsOnly(event));
    }
    count += read.length;
    if (read.length > 0) last = read[read.length - 1]!.offset;
    if (read.length < size) break;
    from = last!;
  }
  return { events, identities, unreadable, last };
}

/** A logged event without its message, once the batch has read all it needs from it. */
class ColumnsOnly implements LoggedEvent {
  readonly offset: number;
  readonly sourceId: string;
  readonly messageId: string;
  readonly type: MessageType;
  readonly userId: string | null;
  readonly anonymousId: string | null;
  readonly name: string | null;
  readonly timestamp: number;
  readonly receivedAt: number;

  constructor(e: LoggedEvent) {
    this.offset = e.offset;
    this.sourceId = e.sourceId;
    this.messageId = e.messageId;
    this.type = e.type;
    this.userId = e.userId;
    this.anonymousId = e.anonymousId;
    this.name = e.name;
    this.timestamp = e.timestamp;
    this.receivedAt = e.receivedAt;
  }

  get message(): Message {
    throw new Error(`event ${this.offset}: its message was not kept for this batch`);
  }
}
