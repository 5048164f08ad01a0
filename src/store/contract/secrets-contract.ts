import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreTest } from './fixtures.ts';

/** Generated secrets: the first value kept for a name is the one every later caller gets. */
export function secretsContract(it: StoreTest): void {
  describe('generated secrets', () => {
    it('secrets.keep: keeps a value per new name, returns the kept one for a name already kept', async (store) => {
      assert.deepEqual(await store.secrets.keep({}), {});
      assert.deepEqual(await store.secrets.keep({ HANDOFF_ADMIN_TOKEN: 'first' }), {
        HANDOFF_ADMIN_TOKEN: 'first',
      });
      assert.deepEqual(await store.secrets.keep({ HANDOFF_ADMIN_TOKEN: 'second', WEB_KEY: 'w1' }), {
        HANDOFF_ADMIN_TOKEN: 'first',
        WEB_KEY: 'w1',
      });
      const [a, b] = await Promise.all([
        store.secrets.keep({ RACE_KEY: 'a' }),
        store.secrets.keep({ RACE_KEY: 'b' }),
      ]);
      assert.equal(a.RACE_KEY, b.RACE_KEY, 'two callers at once agree on one value');
    });
  });
}
