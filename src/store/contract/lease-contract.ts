import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreTest } from './fixtures.ts';

const LONG = 60_000;

/** Job leases: one holder at a time, a new epoch per tenure, expiry by the store's clock. */
export function leaseContract(it: StoreTest): void {
  describe('leases', () => {
    it('leases.acquire: takes a free lease at epoch 1, renews it for its holder at the same epoch, refuses another holder', async (store) => {
      assert.deepEqual(await store.leases.acquire('processor', 'a', LONG), { epoch: 1 });
      assert.deepEqual(await store.leases.acquire('processor', 'a', LONG), { epoch: 1 });
      assert.equal(await store.leases.acquire('processor', 'b', LONG), undefined);
      // Leases are per job.
      assert.deepEqual(await store.leases.acquire('monitor', 'b', LONG), { epoch: 1 });
    });

    it('leases.acquire: a lapsed lease goes to the next holder with the next epoch; the old holder is refused', async (store) => {
      assert.deepEqual(await store.leases.acquire('processor', 'a', 1), { epoch: 1 });
      await sleep(30);
      assert.deepEqual(await store.leases.acquire('processor', 'b', LONG), { epoch: 2 });
      assert.equal(await store.leases.acquire('processor', 'a', LONG), undefined);
    });

    it('leases.acquire: a holder taking back its own lapsed lease starts a new epoch', async (store) => {
      assert.deepEqual(await store.leases.acquire('processor', 'a', 1), { epoch: 1 });
      await sleep(30);
      assert.deepEqual(await store.leases.acquire('processor', 'a', LONG), { epoch: 2 });
    });

    it('leases.release: frees the lease at once for another holder; a stale epoch or holder releases nothing', async (store) => {
      await store.leases.acquire('sync:cordial', 'a', LONG);
      await store.leases.release('sync:cordial', 'b', 1);
      await store.leases.release('sync:cordial', 'a', 7);
      assert.equal(await store.leases.acquire('sync:cordial', 'b', LONG), undefined);
      await store.leases.release('sync:cordial', 'a', 1);
      assert.deepEqual(await store.leases.acquire('sync:cordial', 'b', LONG), { epoch: 2 });
    });

    it('leases.list: every lease by name with holder, epoch, expiry and whether it lapsed', async (store) => {
      assert.deepEqual(await store.leases.list(), []);
      const before = Date.now();
      await store.leases.acquire('processor', 'a', LONG);
      await store.leases.acquire('monitor', 'b', 1);
      await sleep(30);
      const leases = await store.leases.list();
      assert.deepEqual(
        leases.map((l) => ({ name: l.name, holder: l.holder, epoch: l.epoch, expired: l.expired })),
        [
          { name: 'monitor', holder: 'b', epoch: 1, expired: true },
          { name: 'processor', holder: 'a', epoch: 1, expired: false },
        ],
      );
      // The store's clock may differ from this host's a little; a minute's lease ends about a minute on.
      const processor = leases[1]!;
      assert.ok(
        processor.expiresAt > before + LONG - 5_000 && processor.expiresAt < Date.now() + LONG + 5_000,
      );
    });
  });
}
