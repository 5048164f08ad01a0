import type { Clock } from '../shared/clock.ts';
import type { BatchDefaults, CheckContext, IngestRules } from './check.ts';
import { checkMessage, typeOf } from './check.ts';
import type { CheckedMessages, Rejection } from './check-request.ts';
import type { EventColumns, IncomingEvent } from './event.ts';
import type { IngestBus } from './events.ts';
import type { Message, MessageType } from './messages.ts';
import { shapeProblem } from './nesting.ts';
import type { AppendOutcome, EventLog } from './ports.ts';

export type { BatchDefaults, IngestRules } from './check.ts';
export type { Rejection } from './check-request.ts';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
}

/** How `ingest` reads a call's messages: the batch's defaults, a type the route forces, the source's rules. */
export interface IngestCallOptions {
  defaults?: BatchDefaults;
  forcedType?: MessageType | undefined;
  rules?: IngestRules;
}

/** What one append did, for the result and the `ingest.accepted` event. */
interface AppendReport {
  sourceId: string;
  outcome: AppendOutcome;
  /** The message type of the event at an index of the append. */
  typeAt: (index: number) => string;
  /** Events appended (stored or duplicate). */
  accepted: number;
  rejected: Rejection[];
  /** The type of each rejected message, in order. */
  rejectedTypes: readonly string[];
}

export interface IngestOptions {
  log: EventLog;
  clock: Clock;
  bus: IngestBus;
  /** Events stamped further ahead of the server clock than this are rejected (ms). */
  maxFutureSkewMs: number;
}

/** Validates Segment-spec messages, stores the valid ones durably and says what happened to each. */
export class IngestService {
  constructor(private readonly options: IngestOptions) {}

  /** The clock reading and limits to check a call's messages with, taken when it arrives. */
  checkContext(): CheckContext {
    return { receivedAt: this.options.clock.now(), maxFutureSkewMs: this.options.maxFutureSkewMs };
  }

  async ingest(
    sourceId: string,
    messages: readonly unknown[],
    { defaults = {}, forcedType, rules = {} }: IngestCallOptions = {},
  ): Promise<IngestResult> {
    const context = this.checkContext();
    const rejected: Rejection[] = [];
    const events: IncomingEvent[] = [];
    // Defaults fill in every message, so a problem in them refuses each one. Prototype keys are
    // left to the callers, whose parsers either refuse them or keep them as data (file imports).
    const shared = shapeProblem(defaults, { depthOnly: true });
    messages.forEach((raw, index) => {
      const checked =
        shared ?? shapeProblem(raw) ?? checkMessage({ raw, sourceId, context, defaults, forcedType, rules });
      if ('code' in checked) rejected.push({ index, code: checked.code, message: checked.message });
      else events.push(checked);
    });
    const outcome = await this.options.log.append(events);
    const rejectedTypes = rejected.map((r) => typeOf(messages[r.index], forcedType));
    return this.report({
      sourceId,
      outcome,
      typeAt: (i) => events[i]!.type,
      accepted: events.length,
      rejected,
      rejectedTypes,
    });
  }

  /** Stores messages checked already (checkRequest, possibly on another thread) as `sourceId`'s. */
  async ingestChecked(sourceId: string, checked: CheckedMessages): Promise<IngestResult> {
    const { rows, rejected, rejectedTypes } = checked;
    for (const row of rows) row[0] = sourceId;
    const { log } = this.options;
    const outcome = log.appendColumns
      ? await log.appendColumns(rows)
      : await log.append(rows.map(eventOfColumns));
    return this.report({
      sourceId,
      outcome,
      typeAt: (i) => rows[i]![2],
      accepted: rows.length,
      rejected,
      rejectedTypes,
    });
  }

  private report({
    sourceId,
    outcome,
    typeAt,
    accepted,
    rejected,
    rejectedTypes,
  }: AppendReport): IngestResult {
    const { results } = outcome;
    let duplicates = 0;
    const duplicatesByType: Record<string, number> = {};
    const storedByType: Record<string, number> = {};
    results.forEach((r, i) => {
      const type = typeAt(i);
      if (r === 'duplicate') {
        duplicates++;
        duplicatesByType[type] = (duplicatesByType[type] ?? 0) + 1;
      } else storedByType[type] = (storedByType[type] ?? 0) + 1;
    });
    const rejectedByType: Record<string, number> = {};
    for (const t of rejectedTypes) rejectedByType[t] = (rejectedByType[t] ?? 0) + 1;
    this.options.bus.emit('ingest.accepted', {
      sourceId,
      stored: accepted - duplicates,
      duplicates,
      rejected: rejected.length,
      storedByType,
      duplicatesByType,
      rejectedByType,
    });
    return { accepted, duplicates, rejected };
  }
}

const eventOfColumns = (row: EventColumns): IncomingEvent => ({
  sourceId: row[0],
  messageId: row[1],
  type: row[2],
  userId: row[3],
  anonymousId: row[4],
  name: row[5],
  timestamp: row[6],
  receivedAt: row[7],
  message: JSON.parse(row[8]) as Message,
  body: row[8],
});
