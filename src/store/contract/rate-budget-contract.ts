import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RateTake } from '../../sync/ports.ts';
import type { StoreTest } from './fixtures.ts';
import { T0 } from './fixtures.ts';

const at = (now: number, over: Partial<RateTake> = {}): RateTake => ({
  now,
  count: 1,
  intervalMs: 100,
  aheadMs: 0,
  maxWaitMs: 60_000,
  ...over,
});

/** Rate budgets: slots an interval apart per account, shared by every caller; pauses for all. */
export function rateBudgetContract(it: StoreTest): void {
  describe('rate budgets', () => {
    it('rateBudgets.take: grants a slot now, then one per interval; a caller too early is told how long to wait', async (store) => {
      const budget = store.rateBudgets;
      assert.deepEqual(await budget.take('cordial', at(T0)), { granted: 1, waitMs: 0 });
      assert.deepEqual(await budget.take('cordial', at(T0)), { granted: 0, waitMs: 100 });
      assert.deepEqual(await budget.take('cordial', at(T0 + 60)), { granted: 0, waitMs: 40 });
      assert.deepEqual(await budget.take('cordial', at(T0 + 100)), { granted: 1, waitMs: 0 });
      // An idle account grants at once again, and banks nothing for the idle time (no burst).
      assert.deepEqual(await budget.take('cordial', at(T0 + 5_000)), { granted: 1, waitMs: 0 });
      assert.deepEqual(await budget.take('cordial', at(T0 + 5_000)), { granted: 0, waitMs: 100 });
    });

    it('rateBudgets.take: slots within aheadMs are granted together (up to count) with the wait until the first; budgets are per account', async (store) => {
      const budget = store.rateBudgets;
      const ahead = (now: number, count: number) => at(now, { aheadMs: 250, count });
      assert.deepEqual(await budget.take('cordial', ahead(T0, 1)), { granted: 1, waitMs: 0 });
      // Slots at +100 and +200 are within reach, +300 is not.
      assert.deepEqual(await budget.take('cordial', ahead(T0, 5)), { granted: 2, waitMs: 100 });
      assert.deepEqual(await budget.take('cordial', ahead(T0, 5)), { granted: 0, waitMs: 50 });
      assert.deepEqual(await budget.take('cordial', ahead(T0 + 50, 1)), { granted: 1, waitMs: 250 });
      assert.equal(await budget.nextSlot('cordial'), T0 + 400);
      assert.deepEqual(await budget.take('other', ahead(T0, 2)), { granted: 2, waitMs: 0 });
      // The interval is the caller's: a slowed-down caller spaces its own slot further.
      assert.deepEqual(await budget.take('other', at(T0 + 200, { intervalMs: 400 })), {
        granted: 1,
        waitMs: 0,
      });
      assert.deepEqual(await budget.take('other', at(T0 + 200)), { granted: 0, waitMs: 400 });
    });

    it('rateBudgets.pauseUntil: no slot before the pause for any caller; a shorter pause does not shorten it; rateBudgets.nextSlot reads it', async (store) => {
      const budget = store.rateBudgets;
      assert.equal(await budget.nextSlot('cordial'), undefined);
      await budget.pauseUntil('cordial', T0 + 3_000);
      await budget.pauseUntil('cordial', T0 + 1_000);
      assert.equal(await budget.nextSlot('cordial'), T0 + 3_000);
      assert.deepEqual(await budget.take('cordial', at(T0 + 500)), { granted: 0, waitMs: 2_500 });
      assert.deepEqual(await budget.take('cordial', at(T0 + 3_000)), { granted: 1, waitMs: 0 });
      assert.equal(await budget.nextSlot('cordial'), T0 + 3_100);
      // A pause of another account leaves this one alone.
      await budget.pauseUntil('other', T0 + 9_000);
      assert.deepEqual(await budget.take('cordial', at(T0 + 3_100)), { granted: 1, waitMs: 0 });
    });

    it('rateBudgets.take: a slot further ahead than any pause allows (a clock stepped back) is brought within maxWaitMs', async (store) => {
      const budget = store.rateBudgets;
      await budget.pauseUntil('cordial', T0 + 3_600_000);
      assert.deepEqual(await budget.take('cordial', at(T0, { maxWaitMs: 1_000 })), {
        granted: 0,
        waitMs: 1_000,
      });
      assert.deepEqual(await budget.take('cordial', at(T0 + 1_000, { maxWaitMs: 1_000 })), {
        granted: 1,
        waitMs: 0,
      });
    });

    it('rateBudgets.take: callers racing on several connections never get more than the rate in any sliding second', async (store) => {
      const rate = 400;
      const wanted = 2 * rate;
      const request = { intervalMs: 1000 / rate, aheadMs: 20, maxWaitMs: 60_000 };
      const slots: number[] = [];
      const caller = async () => {
        while (slots.length < wanted) {
          const now = Date.now();
          const count = 1 + (slots.length % 3);
          const grant = await store.rateBudgets.take('cordial', { now, count, ...request });
          for (let i = 0; i < grant.granted; i++) slots.push(now + grant.waitMs + i * request.intervalMs);
          if (grant.granted === 0) await sleep(grant.waitMs);
        }
      };
      await Promise.all(Array.from({ length: 8 }, caller));
      slots.sort((a, b) => a - b);
      // No half-open second holds rate + 1 slots: slot i + rate lies at least a second after slot i.
      const crowded = slots.findIndex(
        (s, i) => i + rate < slots.length && slots[i + rate]! - s < 1000 - 1e-6,
      );
      assert.equal(crowded, -1, `${rate + 1} slots within one second from slot ${crowded}`);
    });
  });
}
