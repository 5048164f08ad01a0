import type { Store } from '../store/ports.ts';
import type { Destination } from './destination.ts';

/** One (contact, list) where the destination holds something other than what it should. */
export interface Drift {
  contact: string;
  list: string;
  audience: string;
  /** What Handoff wants. */
  desired: boolean;
  /** What the destination holds: on the list, off it, or the contact is unknown to it. */
  actual: boolean | 'no contact';
}

export interface VerifyReport {
  contacts: number;
  checked: number;
  drift: Drift[];
  /** Contacts that could not be read (with why); they are re-asserted too. */
  unreadable: { contact: string; reason: string }[];
}

/**
 * Reads back every contact the destination was told about and compares its lists with the
 * desired state: what `handoff sync reconcile --verify` reports and then repairs.
 */
export async function verify(
  store: Store,
  destination: Destination,
  audience?: string,
): Promise<VerifyReport> {
  const items = (await store.sync.items(destination.name)).filter(
    (i) => (audience === undefined || i.audience === audience) && (i.sent !== undefined || i.desired),
  );
  const byContact = new Map<string, typeof items>();
  for (const item of items) byContact.set(item.contact, [...(byContact.get(item.contact) ?? []), item]);
  const report: VerifyReport = { contacts: byContact.size, checked: 0, drift: [], unreadable: [] };
  for (const [contact, contactItems] of byContact) {
    const { result, lists } = await destination.read(contact);
    if (!lists) {
      report.unreadable.push({ contact, reason: result.record.message });
      continue;
    }
    report.checked++;
    for (const item of contactItems) {
      const actual = lists.exists ? lists.lists.has(item.list) : 'no contact';
      const holds = actual === true;
      if (holds !== item.desired) {
        report.drift.push({
          contact,
          list: item.list,
          audience: item.audience,
          desired: item.desired,
          actual,
        });
      }
    }
  }
  return report;
}
