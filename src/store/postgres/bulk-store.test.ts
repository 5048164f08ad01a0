import { describe, test } from 'node:test';
import { bulkContract } from '../contract/bulk-contract.ts';
import { openTestPostgresStore } from './testing.ts';

// The bulk job ledger's contract on PostgreSQL, each test on a fresh schema of its own.
describe('PostgreSQL bulk store', () => {
  bulkContract((title, body) => {
    test(title, async () => {
      const store = await openTestPostgresStore();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  });
});
