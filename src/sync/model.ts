/** One (contact, list) pair a destination should hold or not hold: the unit of sync. */
export interface SyncItem {
  destination: string;
  /** The destination's key for the contact, e.g. `email:ann@example.com` or `custID:42`. */
  contact: string;
  list: string;
  audience: string;
  profileId: string;
  /** The address to create the contact with, when it must be created. */
  email: string | undefined;
  /** Whether the contact should be on the list. */
  desired: boolean;
  /** Bumped on every change of `desired`, so an acknowledgement for an older state never closes a newer one. */
  rev: number;
  changeSeq: number;
  /** Higher first: suppression lists go before the audiences they suppress. */
  priority: number;
  /** Not before this (ms): activation delay or cadence. */
  dueAt: number;
  /** What the destination holds per our last acknowledged send (undefined: never sent). */
  sent: boolean | undefined;
  state: 'pending' | 'done' | 'dead';
  attempts: number;
  nextAttemptAt: number;
  lastError: string | undefined;
}

/** Everything one request to a destination sets for one contact. */
export interface ContactUpdate {
  contact: string;
  email: string | undefined;
  /** list → member? */
  lists: Map<string, boolean>;
  items: SyncItem[];
}

/** A send's outcome for the log: what was sent, what came back. */
export interface SendRecord {
  request: string;
  status: number | undefined;
  errorKey?: string;
  message: string;
}

/** Groups due items by contact: pending changes of one contact across lists coalesce into one request. */
export function coalesce(items: readonly SyncItem[]): ContactUpdate[] {
  const byContact = new Map<string, ContactUpdate>();
  for (const item of items) {
    let update = byContact.get(item.contact);
    if (!update)
      byContact.set(
        item.contact,
        (update = { contact: item.contact, email: item.email, lists: new Map(), items: [] }),
      );
    update.lists.set(item.list, item.desired);
    update.items.push(item);
    update.email ??= item.email;
  }
  return [...byContact.values()];
}

/**
 * What a request to a destination was for: a contact's lists, a list lookup or creation, a read,
 * a bulk import (or export) job started, a job's status polled.
 */
export type RequestEndpoint = 'contact' | 'list' | 'read' | 'import' | 'export' | 'job';

/** How a request ended; `network_error` when no response came back (reset, timeout, refused). */
export type RequestOutcome = '2xx' | '404' | '429' | '4xx' | '5xx' | 'network_error';

export const REQUEST_OUTCOMES: readonly RequestOutcome[] = [
  '2xx',
  '404',
  '429',
  '4xx',
  '5xx',
  'network_error',
];

/** One HTTP request a destination's client sent, as observed at its edge. */
export interface RequestRecord {
  destination: string;
  method: 'GET' | 'PUT' | 'POST';
  endpoint: RequestEndpoint;
  outcome: RequestOutcome;
  /** The HTTP status, absent on a network error. */
  status?: number;
  /** When the answer (or the failure) came back (ms). */
  at: number;
}

/** Requests of one (method, endpoint, outcome), counted. */
export interface RequestCount {
  destination: string;
  method: string;
  endpoint: string;
  outcome: RequestOutcome;
  count: number;
}

/** Requests answered 429 in one time bucket. */
export interface RequestBucket {
  /** Start of the bucket (ms): a multiple of the bucket width since the epoch. */
  at: number;
  requests: number;
  rateLimited: number;
}

/** Maps an HTTP status (undefined: no response) to its outcome class. */
export function requestOutcome(status: number | undefined): RequestOutcome {
  if (status === undefined) return 'network_error';
  if (status === 404) return '404';
  if (status === 429) return '429';
  if (status >= 500) return '5xx';
  if (status >= 200 && status < 300) return '2xx';
  return '4xx';
}
