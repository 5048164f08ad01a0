import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { HeldRemoval, PollRecord } from '../../sources/ports.ts';
import type { StoreTest } from './fixtures.ts';
import { T0 } from './fixtures.ts';

const poll = (audience: string, at: number, over: Partial<PollRecord> = {}): PollRecord => ({
  audience,
  at,
  outcome: 'applied',
  members: 10,
  entered: 2,
  exited: 1,
  held: 0,
  error: undefined,
  ...over,
});
const removal = (audience: string, at: number, profileIds: string[]): HeldRemoval => ({
  audience,
  at,
  size: 100,
  profileIds,
});

/** Polls of source-fed audiences, and removals held back for confirmation. */
export function sourceContract(it: StoreTest): void {
  describe('sources', () => {
    it('sources.recordPoll, sources.polls: one audience’s polls at or after `since`, oldest first, as recorded', async (store) => {
      assert.deepEqual(await store.sources.polls('a', 0), []);
      const polls = [
        poll('a', T0),
        poll('a', T0 + 10, { outcome: 'held', held: 40, exited: 0 }),
        poll('a', T0 + 20, {
          outcome: 'failed',
          members: 3,
          entered: 0,
          exited: 0,
          error: 'HTTP 500 from source',
        }),
      ];
      for (const p of [polls[0]!, poll('b', T0 + 5), polls[1]!, polls[2]!]) await store.sources.recordPoll(p);
      assert.deepEqual(await store.sources.polls('a', 0), polls);
      assert.deepEqual(await store.sources.polls('a', T0 + 10), polls.slice(1));
      assert.deepEqual(await store.sources.polls('a', T0 + 21), []);
      assert.deepEqual(await store.sources.polls('none', 0), []);
    });

    it('sources.lastPolls: the latest poll recorded for each audience, by audience', async (store) => {
      assert.deepEqual(await store.sources.lastPolls(), []);
      await store.sources.recordPoll(poll('b', T0));
      await store.sources.recordPoll(poll('a', T0));
      await store.sources.recordPoll(poll('b', T0 + 10, { outcome: 'failed', error: 'timeout' }));
      await store.sources.recordPoll(poll('a', T0 + 5, { members: 11 }));
      assert.deepEqual(await store.sources.lastPolls(), [
        poll('a', T0 + 5, { members: 11 }),
        poll('b', T0 + 10, { outcome: 'failed', error: 'timeout' }),
      ]);
    });

    it('sources.hold, sources.held, sources.allHeld, sources.release: one held removal per audience, replaced and released', async (store) => {
      assert.equal(await store.sources.held('a'), undefined);
      assert.deepEqual(await store.sources.allHeld(), []);
      await store.sources.hold(removal('b', T0, ['p1', 'p2']));
      await store.sources.hold(removal('a', T0, ['p3']));
      await store.sources.hold(removal('b', T0 + 1, ['p4', 'p2', 'p5']));
      assert.deepEqual(await store.sources.held('b'), removal('b', T0 + 1, ['p4', 'p2', 'p5']));
      assert.deepEqual(await store.sources.allHeld(), [
        removal('a', T0, ['p3']),
        removal('b', T0 + 1, ['p4', 'p2', 'p5']),
      ]);
      await store.sources.release('b');
      await store.sources.release('none');
      assert.equal(await store.sources.held('b'), undefined);
      assert.deepEqual(await store.sources.allHeld(), [removal('a', T0, ['p3'])]);
      await store.sources.hold(removal('c', T0, []));
      assert.deepEqual(await store.sources.held('c'), removal('c', T0, []));
    });
  });
}
