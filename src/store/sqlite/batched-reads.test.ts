import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IdentityOp } from '../../identity/model.ts';
import { emptyWrites } from '../../engine/model.ts';
import { createSqliteStore } from './index.ts';

// Loads and snapshots read a whole batch per statement, in chunks: these cross a chunk boundary
// (5,000) so a row can only come back right if it is matched to its profile by id.
const dir = mkdtempSync(join(tmpdir(), 'handoff-batched-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const fresh = () => createSqliteStore(join(dir, `store-${++files}.db`));

const T0 = Date.UTC(2025, 0, 1);
const N = 5_003;
const id = (i: number) => `p${String(i).padStart(5, '0')}`;

describe('batched reads of many profiles', () => {
  test('snapshot finds every owner across identifier kinds and chunks, each once, with all its identifiers', async () => {
    const store = fresh();
    const ops: IdentityOp[] = [];
    for (let i = 0; i < N; i++) {
      ops.push({ op: 'create', profileId: id(i), at: T0 + i });
      ops.push({
        op: 'attach',
        profileId: id(i),
        identifier: { kind: 'anonymousId', value: `a${i}` },
        at: T0,
      });
      if (i % 1000 === 0)
        ops.push({ op: 'attach', profileId: id(i), identifier: { kind: 'userId', value: `u${i}` }, at: T0 });
    }
    await store.identity.commit(ops, 'test', 0, 1);
    const keys = [
      ...Array.from({ length: N }, (_, i) => ({ kind: 'anonymousId' as const, value: `a${i}` })),
      { kind: 'userId' as const, value: 'u5000' },
      { kind: 'userId' as const, value: 'nobody' },
      { kind: 'anonymousId' as const, value: 'a5002' },
    ];
    const { profiles } = await store.identity.snapshot(keys);
    assert.equal(profiles.length, N);
    const last = profiles.find((p) => p.id === id(5000));
    assert.deepEqual(last, {
      id: id(5000),
      createdAt: T0 + 5000,
      identifiers: [
        { kind: 'anonymousId', value: 'a5000' },
        { kind: 'userId', value: 'u5000' },
      ],
    });
    await store.close();
  });

  test('load gives every id a record, with its own state, traits, memberships and scores', async () => {
    const store = fresh();
    const ids = Array.from({ length: N }, (_, i) => id(i));
    const writes = emptyWrites();
    const traits: IdentityOp[] = [];
    for (const i of [0, 4_999, 5_000, 5_002]) {
      writes.states.push({ profileId: id(i), state: { v: 1, trackers: { n: i } }, wakeAt: T0 + i });
      writes.entered.push({ audience: 'vip', profileId: id(i), since: T0 + i, heldOut: i === 5_000 });
      writes.scores.push({ conditionId: 'vip/condition', profileId: id(i), value: i });
      traits.push({ op: 'create', profileId: id(i), at: T0 });
      traits.push({ op: 'trait', profileId: id(i), name: 'plan', value: `plan-${i}`, ts: T0 + i });
    }
    await store.commit({ identity: traits, audiences: writes });
    const records = await store.audiences.load([...ids, 'unknown']);
    assert.equal(records.size, N + 1);
    for (const i of [0, 4_999, 5_000, 5_002]) {
      const r = records.get(id(i))!;
      assert.deepEqual(r.state, { v: 1, trackers: { n: i } });
      assert.deepEqual(r.traits, { plan: { value: `plan-${i}`, ts: T0 + i } });
      assert.deepEqual(
        [...r.memberships.values()],
        [{ audience: 'vip', profileId: id(i), since: T0 + i, heldOut: i === 5_000 }],
      );
      assert.deepEqual(r.stored, {
        state: JSON.stringify({ v: 1, trackers: { n: i } }),
        wakeAt: T0 + i,
        scores: new Map([['vip/condition', i]]),
      });
    }
    for (const empty of [records.get(id(1))!, records.get('unknown')!]) {
      assert.equal(empty.state, undefined);
      assert.deepEqual(empty.traits, {});
      assert.equal(empty.memberships.size, 0);
      assert.deepEqual(empty.stored, { state: undefined, wakeAt: null, scores: new Map() });
    }
    await store.close();
  });
});
