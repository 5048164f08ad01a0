import type { Message, MessageType } from './messages.ts';

/** The track event that deletes a profile's data (Customer.io's and Segment's semantic name). */
export const DELETION_EVENT = 'User Deleted';

/** A validated message as the event log keeps it; `timestamp` is the skew-corrected event time. */
export interface IncomingEvent {
  sourceId: string;
  /** The client's messageId (or a content hash when it sent none): the dedupe key within a source. */
  messageId: string;
  type: MessageType;
  userId: string | null;
  anonymousId: string | null;
  /** The track event's name, or the page/screen name. */
  name: string | null;
  /** Event time, ms since the epoch, corrected for client clock skew. */
  timestamp: number;
  /** When Handoff received it, ms since the epoch. */
  receivedAt: number;
  message: Message;
  /** `message` as JSON text, when the caller has serialised it already; the log stores it as is. */
  body?: string;
}

/** An event in the log, with its position. Offsets only grow. */
export interface LoggedEvent extends IncomingEvent {
  offset: number;
}

/**
 * A checked event as the log's columns, without the parsed message: sourceId, messageId, type,
 * userId, anonymousId, name, timestamp (ms), receivedAt (ms), body (the message as JSON text).
 * Compact enough to pass between threads cheaply.
 */
export type EventColumns = [
  string,
  string,
  MessageType,
  string | null,
  string | null,
  string | null,
  number,
  number,
  string,
];

export const columnsOf = (e: IncomingEvent): EventColumns => [
  e.sourceId,
  e.messageId,
  e.type,
  e.userId,
  e.anonymousId,
  e.name,
  e.timestamp,
  e.receivedAt,
  e.body ?? JSON.stringify(e.message),
];
