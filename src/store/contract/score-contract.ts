import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { StoreTest } from './fixtures.ts';
import { sortedStrings, write } from './fixtures.ts';

const score = (profileId: string, value: number | undefined, conditionId = 'c1') => ({
  conditionId,
  profileId,
  value,
});

/** Top-percent scores: the threshold at a percentile and the profiles on either side of it. */
export function scoreContract(it: StoreTest): void {
  describe('audience scores', () => {
    it('audiences.threshold: the score at the top `percent`% (at least one profile), undefined with none', async (store) => {
      assert.equal(await store.audiences.threshold('c1', 10), undefined);
      await write(store, {
        scores: [
          score('p1', 10),
          score('p2', 50),
          score('p3', 30),
          score('p4', 20),
          score('p5', 40),
          score('x', 99, 'c2'),
        ],
      });
      const at = (percent: number) => store.audiences.threshold('c1', percent);
      assert.equal(await at(20), 50, 'one of five');
      assert.equal(await at(40), 40);
      assert.equal(await at(50), 30, 'two and a half of five rounds up to three');
      assert.equal(await at(100), 10);
      assert.equal(await at(1), 50, 'never fewer than one');
      assert.equal(await at(0), 50);
      assert.equal(await store.audiences.threshold('c2', 50), 99, 'conditions are separate');
      assert.equal(await store.audiences.threshold('c3', 50), undefined);
    });

    it('audiences.threshold: equal scores count once each', async (store) => {
      await write(store, { scores: [score('p1', 5), score('p2', 5), score('p3', 1), score('p4', -2.5)] });
      assert.equal(await store.audiences.threshold('c1', 50), 5);
      assert.equal(await store.audiences.threshold('c1', 75), 1);
      assert.equal(await store.audiences.threshold('c1', 100), -2.5);
    });

    it('audiences.scoredAtLeast, audiences.scoredBetween: inclusive bounds, one condition only', async (store) => {
      await write(store, {
        scores: [score('p1', 10), score('p2', 20.5), score('p3', 30), score('p4', 20.5, 'c2')],
      });
      assert.deepEqual(sortedStrings(await store.audiences.scoredAtLeast('c1', 20.5)), ['p2', 'p3']);
      assert.deepEqual(sortedStrings(await store.audiences.scoredAtLeast('c1', -1)), ['p1', 'p2', 'p3']);
      assert.deepEqual(await store.audiences.scoredAtLeast('c1', 30.5), []);
      assert.deepEqual(sortedStrings(await store.audiences.scoredBetween('c1', 10, 20.5)), ['p1', 'p2']);
      assert.deepEqual(await store.audiences.scoredBetween('c1', 11, 20), []);
      assert.deepEqual(await store.audiences.scoredBetween('c1', 30, 10), [], 'an empty range');
      assert.deepEqual(await store.audiences.scoredAtLeast('none', 0), []);
    });

    it('audiences.scoredAtLeast: a new score replaces the old; an undefined one removes it', async (store) => {
      await write(store, { scores: [score('p1', 10), score('p2', 20)] });
      await write(store, { scores: [score('p1', 25), score('p2', undefined), score('p3', undefined)] });
      assert.deepEqual(await store.audiences.scoredAtLeast('c1', 0), ['p1']);
      assert.deepEqual(await store.audiences.scoredBetween('c1', 25, 25), ['p1']);
      assert.equal(await store.audiences.threshold('c1', 100), 25);
    });
  });
}
