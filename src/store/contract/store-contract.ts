import { describe, test } from 'node:test';
import type { Store } from '../ports.ts';
import { commitContract } from './commit-contract.ts';
import { cursorContract } from './cursor-contract.ts';
import { eventLogContract } from './event-log-contract.ts';
import type { StoreTest } from './fixtures.ts';
import { identityContract } from './identity-contract.ts';
import { mergeContract } from './merge-contract.ts';
import { quarantineContract } from './quarantine-contract.ts';

// What every Store adapter must do, written against the port alone so the SQLite adapter and
// the Postgres one to come run exactly the same tests. `open` must return a fresh, empty store.
// One file per port.

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    /** A test against a fresh store, closed afterwards whatever happens. */
    const it: StoreTest = (title, body) => {
      test(title, async () => {
        const store = await open();
        try {
          await body(store);
        } finally {
          await store.close();
        }
      });
    };

    quarantineContract(it);
    eventLogContract(it);
    cursorContract(it);
    identityContract(it);
    mergeContract(it);
    commitContract(it);
  });
}
