import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../ports.ts';

/** The Store's ports: its members that are objects of methods, not methods themselves. */
type Ports = { [K in keyof Store as Store[K] extends (...args: never[]) => unknown ? never : K]: Store[K] };
type StoreMethod = Exclude<keyof Store, keyof Ports>;

/**
 * Every method of every port. The types make this list complete: a method added to a port does
 * not compile until it is named here, and then fails the check below until a test names it.
 */
const PORT_METHODS: { [P in keyof Ports]: Record<keyof Ports[P], true> } = {
  events: { append: true, appendColumns: true, readAfter: true, head: true },
  cursors: { get: true },
  identity: { snapshot: true, commit: true, findProfile: true, getProfile: true, getProfiles: true },
  audiences: {
    load: true,
    history: true,
    due: true,
    nextWakeAt: true,
    members: true,
    changesAfter: true,
    changesOf: true,
    threshold: true,
    scoredAtLeast: true,
    scoredBetween: true,
    replay: true,
    membersOfAny: true,
    appliedVersions: true,
    recordVersions: true,
    profileCount: true,
  },
  sync: {
    record: true,
    due: true,
    nextDueAt: true,
    results: true,
    counts: true,
    deadLetters: true,
    retry: true,
    retryDead: true,
    skipDead: true,
    reassert: true,
    itemsOfMember: true,
    itemsOfMembers: true,
    unmatchedAfter: true,
    items: true,
  },
  bulk: {
    candidates: true,
    plan: true,
    active: true,
    recent: true,
    byToken: true,
    contactsOf: true,
    update: true,
    complete: true,
    release: true,
  },
  sources: {
    recordPoll: true,
    lastPolls: true,
    polls: true,
    hold: true,
    held: true,
    allHeld: true,
    release: true,
  },
  monitor: {
    record: true,
    series: true,
    prune: true,
    audienceCounts: true,
    overstayed: true,
    matchCounts: true,
    unacknowledgedExits: true,
    deadCounts: true,
    lastAcknowledged: true,
    queueDepth: true,
    wakeups: true,
    eventAfter: true,
    changeCounts: true,
    conversions: true,
    watermarks: true,
    tallies: true,
  },
  requests: {
    append: true,
    watermark: true,
    tally: true,
    counts: true,
    buckets: true,
    items: true,
    prune: true,
  },
  alerts: { alertStates: true, setAlertState: true },
  admin: {
    memberCounts: true,
    changeBuckets: true,
    sampleMembers: true,
    recentEvents: true,
    sendBuckets: true,
    lastSends: true,
    acknowledged: true,
    memberStanding: true,
    overlap: true,
    listsOf: true,
  },
  quarantine: { list: true, count: true, requestRetry: true, marked: true, dropWakeup: true },
  leases: { acquire: true, release: true, list: true },
  signals: { notify: true, announced: true, on: true, close: true },
  rateBudgets: { take: true, pauseUntil: true, nextSlot: true },
  secrets: { keep: true },
};
const STORE_METHODS: Record<StoreMethod, true> = { commit: true, readiness: true, close: true };
/** Methods a port declares optional: an adapter may leave them out. */
const OPTIONAL = new Set(['events.appendColumns']);

/** `port.method` for every method of every port, then the Store's own methods. */
export const contractMethods = (): string[] => [
  ...Object.entries(PORT_METHODS).flatMap(([port, methods]) =>
    Object.keys(methods).map((m) => `${port}.${m}`),
  ),
  ...Object.keys(STORE_METHODS),
];

/** Whether a test title names the method: `sync.due …`, `… and sync.due`, `commit …` (not `identity.commit`). */
const names = (title: string, method: string): boolean =>
  new RegExp(`(^|[^\\w.])${method.replace('.', '\\.')}(?![\\w])`).test(title);

/**
 * Fails when a port method has no contract test naming it in its title, or when the list above
 * and the adapter disagree about which methods exist.
 */
export function coverageContract(open: () => Promise<Store>, titles: readonly string[]): void {
  describe('contract coverage', () => {
    test('every method of every Store port has a contract test naming it', () => {
      const missing = contractMethods().filter((m) => !titles.some((t) => names(t, m)));
      assert.deepEqual(missing, [], `methods without a contract test: ${missing.join(', ')}`);
    });

    test('the adapter implements every listed method, and has no port the list lacks', async () => {
      const store = await open();
      try {
        const absent = contractMethods().filter((m) => {
          if (OPTIONAL.has(m)) return false;
          const [port, method] = m.includes('.') ? m.split('.') : [undefined, m];
          const owner: unknown = port === undefined ? store : store[port as keyof Ports];
          return typeof (owner as Record<string, unknown>)[method] !== 'function';
        });
        assert.deepEqual(absent, []);
        const known = new Set<string>([...Object.keys(PORT_METHODS), ...Object.keys(STORE_METHODS)]);
        assert.deepEqual(
          Object.keys(store).filter((k) => !known.has(k)),
          [],
        );
      } finally {
        await store.close();
      }
    });

    test('the coverage check recognises a method only where a title names it', () => {
      assert.ok(names('sync.due: pending items first', 'sync.due'));
      assert.ok(names('audiences.due, audiences.nextWakeAt: wake-ups', 'audiences.nextWakeAt'));
      assert.ok(names('commit applies everything', 'commit'));
      assert.ok(!names('identity.commit from a stale position', 'commit'));
      assert.ok(!names('sync.dueAt …', 'sync.due'));
      assert.ok(!names('sync.nextDueAt …', 'sync.due'));
    });
  });
}
