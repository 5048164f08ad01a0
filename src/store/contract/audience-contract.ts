import { describe } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeCause } from '../../engine/model.ts';
import type { StoreTest } from './fixtures.ts';
import {
  T0,
  apply,
  change,
  create,
  enter,
  exit,
  logEvents,
  membership,
  merge,
  messageIds,
  sortedStrings,
  track,
  trait,
  write,
} from './fixtures.ts';

const state = (n: number) => ({ v: 1 as const, trackers: { count: n, list: [n, n + 1] } });
const wake = (profileId: string, wakeAt: number | null, n = 1) => ({ profileId, state: state(n), wakeAt });

/** Per-profile audience state, memberships, the change outbox and wake-ups. */
export function audienceContract(it: StoreTest): void {
  describe('audiences', () => {
    it('audiences.load: unknown ids get an empty record', async (store) => {
      const records = await store.audiences.load(['nobody', 'other']);
      assert.deepEqual(sortedStrings(records.keys()), ['nobody', 'other']);
      const r = records.get('nobody');
      assert.equal(r?.profileId, 'nobody');
      assert.equal(r?.state, undefined);
      assert.deepEqual(r?.traits, {});
      assert.deepEqual(r?.memberships, new Map());
      if (r?.stored) assert.deepEqual(r.stored, { state: undefined, wakeAt: null, scores: new Map() });
      assert.deepEqual(await store.audiences.load([]), new Map());
    });

    it('audiences.load returns state, traits, memberships and the stored rows as committed', async (store) => {
      await apply(store, [create('p1'), trait('p1', 'plan', 'gold', T0 + 3), create('p2')]);
      await write(store, {
        states: [wake('p1', T0 + 100, 2), wake('p2', null, 5)],
        entered: [membership('a', 'p1', T0 + 1), membership('b', 'p1', T0 + 2, true)],
        scores: [{ conditionId: 'c1', profileId: 'p1', value: 12.5 }],
      });
      const records = await store.audiences.load(['p1', 'p2']);
      const p1 = records.get('p1');
      assert.deepEqual(p1?.state, state(2));
      assert.deepEqual(p1?.traits, { plan: { value: 'gold', ts: T0 + 3 } });
      assert.deepEqual(
        p1?.memberships,
        new Map([
          ['a', membership('a', 'p1', T0 + 1)],
          ['b', membership('b', 'p1', T0 + 2, true)],
        ]),
      );
      if (p1?.stored) {
        assert.deepEqual(JSON.parse(p1.stored.state ?? 'null'), state(2));
        assert.equal(p1.stored.wakeAt, T0 + 100);
        assert.deepEqual(p1.stored.scores, new Map([['c1', 12.5]]));
      }
      assert.deepEqual(records.get('p2')?.state, state(5));
      assert.equal(records.get('p2')?.memberships.size, 0);
      await write(store, { states: [wake('p1', null, 3)], exited: [{ audience: 'a', profileId: 'p1' }] });
      const again = (await store.audiences.load(['p1'])).get('p1');
      assert.deepEqual(again?.state, state(3), 'a later state replaces the earlier');
      assert.deepEqual([...(again?.memberships.keys() ?? [])], ['b']);
    });

    it('audiences.load: a dropped profile loses its state, memberships and scores', async (store) => {
      await apply(store, [create('p1'), create('p2')]);
      await write(store, {
        states: [wake('p2', T0 + 5)],
        entered: [membership('a', 'p2', T0)],
        scores: [{ conditionId: 'c1', profileId: 'p2', value: 1 }],
      });
      await write(store, { dropped: ['p2'] }, [merge('p2', 'p1', T0 + 9)]);
      const p2 = (await store.audiences.load(['p2'])).get('p2');
      assert.equal(p2?.state, undefined);
      assert.equal(p2?.memberships.size, 0);
      assert.deepEqual(await store.audiences.members('a'), []);
      assert.deepEqual(await store.audiences.scoredAtLeast('c1', 0), []);
      assert.equal(await store.audiences.nextWakeAt(), null);
    });

    it('audiences.history: every logged event of the profiles, in offset order, none of others', async (store) => {
      await logEvents(store, 'p1', [track(1)], T0);
      await logEvents(store, 'p2', [track(2, { userId: 'u2' })], T0);
      await logEvents(store, 'p3', [track(3, { userId: 'u3' })], T0);
      await logEvents(store, 'p1', [track(4)]);
      assert.deepEqual(messageIds(await store.audiences.history(['p1'])), ['m1', 'm4']);
      assert.deepEqual(messageIds(await store.audiences.history(['p2', 'p1'])), ['m1', 'm2', 'm4']);
      assert.deepEqual(await store.audiences.history([]), []);
      assert.deepEqual(await store.audiences.history(['nobody']), []);
      const [first] = await store.audiences.history(['p1']);
      assert.deepEqual(first?.message, track(1).message);
    });

    it('audiences.due, audiences.nextWakeAt: wake-ups at or before now, earliest first, ties by profile id', async (store) => {
      assert.equal(await store.audiences.nextWakeAt(), null);
      assert.deepEqual(await store.audiences.due(T0 + 1000, 10), []);
      await write(store, {
        states: [
          wake('p3', T0 + 20),
          wake('p2', T0 + 10),
          wake('p1', T0 + 20),
          wake('p4', T0 + 30),
          wake('p5', null),
        ],
      });
      assert.equal(await store.audiences.nextWakeAt(), T0 + 10);
      assert.deepEqual(await store.audiences.due(T0 + 9, 10), []);
      assert.deepEqual(await store.audiences.due(T0 + 10, 10), ['p2']);
      assert.deepEqual(await store.audiences.due(T0 + 20, 10), ['p2', 'p1', 'p3']);
      assert.deepEqual(await store.audiences.due(T0 + 100, 2), ['p2', 'p1']);
      assert.deepEqual(await store.audiences.due(T0 + 100, 0), []);
      await write(store, { states: [wake('p2', null)] });
      assert.equal(await store.audiences.nextWakeAt(), T0 + 20);
      assert.deepEqual(await store.audiences.due(T0 + 100, 10), ['p1', 'p3', 'p4']);
    });

    it('audiences.members: an audience’s members, oldest membership first, ties by profile id', async (store) => {
      await enter(store, membership('a', 'p3', T0 + 5));
      await enter(store, membership('a', 'p2', T0 + 1, true));
      await enter(store, membership('a', 'p1', T0 + 5));
      await enter(store, membership('b', 'p1', T0));
      assert.deepEqual(await store.audiences.members('a'), [
        membership('a', 'p2', T0 + 1, true),
        membership('a', 'p1', T0 + 5),
        membership('a', 'p3', T0 + 5),
      ]);
      await exit(store, 'a', 'p1', T0 + 9);
      assert.deepEqual(
        (await store.audiences.members('a')).map((m) => m.profileId),
        ['p2', 'p3'],
      );
      assert.deepEqual(await store.audiences.members('none'), []);
    });

    it('audiences.membersOfAny: each profile in any of the audiences, once', async (store) => {
      await enter(store, membership('a', 'p1', T0));
      await enter(store, membership('b', 'p1', T0));
      await enter(store, membership('b', 'p2', T0, true));
      await enter(store, membership('c', 'p3', T0));
      assert.deepEqual(sortedStrings(await store.audiences.membersOfAny(['a', 'b'])), ['p1', 'p2']);
      assert.deepEqual(await store.audiences.membersOfAny([]), []);
      assert.deepEqual(await store.audiences.membersOfAny(['none']), []);
    });

    it('audiences.changesAfter: the outbox in commit order, seq growing, after `seq`, at most `limit`', async (store) => {
      const cause: ChangeCause = { kind: 'event', offset: 7, messageId: 'm7', event: 'Order Completed' };
      await write(store, {
        changes: [
          change('b', 'p2', 'enter', T0 + 50, { cause, version: 'v2', heldOut: true }),
          change('a', 'p1', 'enter', T0 + 10),
        ],
      });
      await write(store, {
        changes: [change('a', 'p1', 'exit', T0 + 5, { cause: { kind: 'merge', into: 'p9' } })],
      });
      const all = await store.audiences.changesAfter(0, 100);
      assert.deepEqual(
        all.map(({ seq: _, ...c }) => c),
        [
          change('b', 'p2', 'enter', T0 + 50, { cause, version: 'v2', heldOut: true }),
          change('a', 'p1', 'enter', T0 + 10),
          change('a', 'p1', 'exit', T0 + 5, { cause: { kind: 'merge', into: 'p9' } }),
        ],
      );
      assert.ok(all[0]!.seq > 0);
      assert.ok(all[0]!.seq < all[1]!.seq && all[1]!.seq < all[2]!.seq);
      assert.deepEqual(await store.audiences.changesAfter(all[0]!.seq, 1), [all[1]]);
      assert.deepEqual(await store.audiences.changesAfter(all[2]!.seq, 100), []);
      assert.deepEqual(await store.audiences.changesAfter(0, 0), []);
    });

    it('audiences.changesOf: one profile’s changes, newest last', async (store) => {
      await enter(store, membership('a', 'p1', T0));
      await enter(store, membership('a', 'p2', T0));
      await exit(store, 'a', 'p1', T0 + 1);
      await enter(store, membership('b', 'p1', T0 + 2));
      const changes = await store.audiences.changesOf('p1');
      assert.deepEqual(
        changes.map((c) => [c.audience, c.change, c.at]),
        [
          ['a', 'enter', T0],
          ['a', 'exit', T0 + 1],
          ['b', 'enter', T0 + 2],
        ],
      );
      const outbox = await store.audiences.changesAfter(0, 100);
      assert.deepEqual(
        changes,
        outbox.filter((c) => c.profileId === 'p1'),
        'with the outbox’s seqs',
      );
      assert.deepEqual(await store.audiences.changesOf('nobody'), []);
    });

    it('audiences.appliedVersions, audiences.recordVersions: the versions in force replace the earlier set', async (store) => {
      assert.deepEqual(await store.audiences.appliedVersions(), new Map());
      await store.audiences.recordVersions(
        new Map([
          ['a', 'v1'],
          ['b', 'v1'],
        ]),
        T0,
      );
      assert.deepEqual(
        await store.audiences.appliedVersions(),
        new Map([
          ['a', 'v1'],
          ['b', 'v1'],
        ]),
      );
      await store.audiences.recordVersions(
        new Map([
          ['a', 'v2'],
          ['c', 'v1'],
        ]),
        T0 + 1,
      );
      assert.deepEqual(
        await store.audiences.appliedVersions(),
        new Map([
          ['a', 'v2'],
          ['c', 'v1'],
        ]),
      );
      await store.audiences.recordVersions(new Map(), T0 + 2);
      assert.deepEqual(await store.audiences.appliedVersions(), new Map());
    });

    it('audiences.profileCount counts live profiles: not merged away, not deleted', async (store) => {
      assert.equal(await store.audiences.profileCount(), 0);
      await apply(store, [create('p1'), create('p2'), create('p3'), create('p4')]);
      assert.equal(await store.audiences.profileCount(), 4);
      await apply(store, [merge('p2', 'p1', T0 + 1), { op: 'delete', profileId: 'p3', at: T0 + 2 }]);
      assert.equal(await store.audiences.profileCount(), 2);
    });

    it('audiences.replay: every live profile once, with its events in offset order', async (store) => {
      await logEvents(store, 'p1', [track(1)], T0);
      await logEvents(store, 'p2', [track(2, { userId: 'u2' })], T0);
      await logEvents(store, 'p1', [track(3)]);
      await logEvents(store, 'p3', [track(4, { userId: 'u3' })], T0);
      await apply(store, [
        create('p4'),
        create('p5'),
        merge('p3', 'p2', T0 + 1),
        { op: 'delete', profileId: 'p5', at: T0 },
      ]);
      const seen: { profileId: string; ids: string[] }[] = [];
      for await (const r of store.audiences.replay())
        seen.push({ profileId: r.profileId, ids: messageIds(r.events) });
      assert.deepEqual(
        seen.sort((a, b) => a.profileId.localeCompare(b.profileId)),
        [
          { profileId: 'p1', ids: ['m1', 'm3'] },
          { profileId: 'p2', ids: ['m2', 'm4'] },
          { profileId: 'p4', ids: [] },
        ],
      );
    });

    it('audiences.replay of an empty store yields nothing', async (store) => {
      for await (const r of store.audiences.replay()) assert.fail(`yielded ${r.profileId}`);
    });
  });
}
