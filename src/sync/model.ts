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
