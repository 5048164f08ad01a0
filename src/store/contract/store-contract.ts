import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../ports.ts';
import type { StoreTest } from './fixtures.ts';
import { track } from './fixtures.ts';
import { adminContract } from './admin-contract.ts';
import { adminSyncContract } from './admin-sync-contract.ts';
import { audienceContract } from './audience-contract.ts';
import { commitContract } from './commit-contract.ts';
import { coverageContract } from './coverage-contract.ts';
import { deadLetterContract } from './dead-letter-contract.ts';
import { eventLogContract } from './event-log-contract.ts';
import { identityContract } from './identity-contract.ts';
import { mergeContract } from './merge-contract.ts';
import { monitorContract } from './monitor-contract.ts';
import { monitorSyncContract } from './monitor-sync-contract.ts';
import { quarantineContract } from './quarantine-contract.ts';
import { requestLogContract } from './request-log-contract.ts';
import { scoreContract } from './score-contract.ts';
import { sourceContract } from './source-contract.ts';
import { syncContract } from './sync-contract.ts';
import { bulkContract } from './bulk-contract.ts';
import { leaseContract } from './lease-contract.ts';
import { signalContract } from './signal-contract.ts';
import { rateBudgetContract } from './rate-budget-contract.ts';
import { secretsContract } from './secrets-contract.ts';

// What every Store adapter must do, written against the port alone so the SQLite adapter and the
// Postgres one run exactly the same tests. `open` must return a fresh, empty store. One file per
// port (or group of methods); each test's title starts with the methods it exercises, and the
// coverage check fails when a port method has no test naming it.

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    const titles: string[] = [];
    const it: StoreTest = (title, body) => {
      titles.push(title);
      test(title, async (t) => {
        const store = await open();
        try {
          await body(store, t);
        } finally {
          await store.close();
        }
      });
    };

    eventLogContract(it);
    identityContract(it);
    mergeContract(it);
    commitContract(it);
    audienceContract(it);
    scoreContract(it);
    syncContract(it);
    deadLetterContract(it);
    requestLogContract(it);
    sourceContract(it);
    monitorContract(it);
    monitorSyncContract(it);
    adminContract(it);
    adminSyncContract(it);
    quarantineContract(it);
    bulkContract(it);
    leaseContract(it);
    signalContract(it);
    rateBudgetContract(it);
    secretsContract(it);

    // Closes a store of its own: every other test's store is closed by `it`.
    const closeTitle = 'close resolves, once what was written has settled';
    titles.push(closeTitle);
    test(closeTitle, async () => {
      const store = await open();
      assert.deepEqual(await store.events.append([track(1)]), { results: ['stored'] });
      await store.close();
    });

    coverageContract(open, titles);
  });
}
