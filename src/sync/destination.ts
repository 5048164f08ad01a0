import type { SendOutcome } from './retry-policy.ts';
import type { ContactUpdate, SendRecord } from './model.ts';

/** What a destination said about its rate window, for the shared limiter. */
export interface RateInfo {
  remaining?: number;
  /** When the window resets (ms epoch). */
  resetAt?: number;
}

export interface SendResult {
  outcome: SendOutcome;
  record: SendRecord;
  rate: RateInfo;
}

/** What a destination holds for one contact, read back for verification. */
export type ContactLists = { exists: false } | { exists: true; lists: ReadonlySet<string> };

/** A list-based activation platform. Each failure is classified once, here at the edge. */
export interface Destination {
  readonly name: string;
  /** Makes sure the lists exist (created on first use). */
  prepareLists(lists: readonly string[]): Promise<SendResult | undefined>;
  /** Sets the contact's membership of each list in one request, creating the contact on entry if needed. */
  send(update: ContactUpdate): Promise<SendResult>;
  /** Reads the lists a contact is on. */
  read(contact: string): Promise<{ result: SendResult; lists?: ContactLists }>;
}
