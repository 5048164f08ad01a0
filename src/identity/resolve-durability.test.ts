// Resolution survives what the process does not: restarts, failed commits, a second processor,
// and the history rows a profile's events are kept in.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Processor } from '../engine/processor.ts';
import type { HandoffEvents } from '../engine/events.ts';
import { EventBus } from '../shared/bus.ts';
import type { Store } from '../store/ports.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import { DELETION_EVENT } from './model.ts';
import { DEFAULTS, identify, track, World, world, identifiersOf, closeWorlds } from '../app/testing/identity-world.ts';

after(closeWorlds);

/**
 * Each event's profile, and how many history rows hold them. The Store port does not expose a
 * profile's events, so this reads the SQLite tables directly.
 */
function historyOf(path: string): { events: unknown[]; rows: unknown } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      events: db.prepare('SELECT profile_id, seq FROM profile_events ORDER BY seq').all(),
      rows: db.prepare('SELECT count(*) FROM profile_history').pluck().get(),
    };
  } finally {
    db.close();
  }
}

describe('durability of resolution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-resolve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a merge keeps both profiles’ events on the survivor', async () => {
    const path = join(dir, 'history.db');
    const x = new World(createSqliteStore(path));
    await x.send(
      identify('u1'),
      track({ anonymousId: 'a1' }),
      track({ anonymousId: 'a1' }),
      identify('u1', {}, 'a1'),
    );
    await x.store.close();
    assert.deepEqual(
      historyOf(path).events,
      [1, 2, 3, 4].map((seq) => ({ profile_id: 'p1', seq })),
    );
  });

  test('merges within one batch hand every event to the survivor, in one history row', async () => {
    const path = join(dir, 'chain.db');
    const x = new World(createSqliteStore(path));
    await x.send(
      track({ anonymousId: 'a1' }),
      track({ anonymousId: 'a2' }),
      identify('u1'),
      identify('u1', {}, 'a1'),
      identify('u1', {}, 'a2'),
      track({ userId: 'u1' }),
    );
    await x.store.close();
    const { events, rows } = historyOf(path);
    assert.deepEqual(
      events,
      [1, 2, 3, 4, 5, 6].map((seq) => ({ profile_id: 'p1', seq })),
    );
    assert.equal(rows, 1);
  });

  test('a deletion takes the events of its own batch with it; other profiles keep theirs', async () => {
    const x = world();
    await x.send(
      track({ userId: 'u1' }),
      track({ userId: 'u2' }),
      track({ anonymousId: 'a1' }),
      identify('u1', {}, 'a1'),
      { type: 'track', userId: 'u1', event: DELETION_EVENT },
    );
    assert.equal(await x.idOf('userId', 'u1'), undefined);
    const left = await x.store.events.readAfter(0, 10);
    assert.deepEqual(
      left.map((e) => e.offset),
      [2],
      'only u2 remains',
    );
    assert.deepEqual(
      (await x.store.audiences.history([(await x.idOf('userId', 'u2'))!])).map((e) => e.offset),
      [2],
    );
  });

  test('a new processor on the same store resumes at the cursor and creates nothing twice', async () => {
    const x = world({}, 2);
    await x.send(
      identify('u1', { email: 'ann@example.com' }),
      track({ anonymousId: 'a1' }),
      identify('u1', {}, 'a1'),
    );
    const before = await x.store.identity.getProfile('p1');
    // A restarted processor whose id generator starts over: replaying anything would reuse p1.
    const restarted = new Processor({
      store: x.store,
      policy: DEFAULTS,
      bus: new EventBus<HandoffEvents>(),
      newProfileId: () => 'p1',
    });
    assert.equal(await restarted.drain(), 0);
    assert.deepEqual(await x.store.identity.getProfile('p1'), before);
    await x.append(track({ anonymousId: 'a9' }), track({ userId: 'u1', anonymousId: 'a9' }));
    const next = x.newProcessor();
    assert.equal(await next.drain(), 2);
    assert.deepEqual(identifiersOf(await x.profile('userId', 'u1')), [
      'anonymousId:a1',
      'anonymousId:a9',
      'email:ann@example.com',
      'userId:u1',
    ]);
    assert.equal(await x.store.cursors.get('processor'), await x.store.events.head());
  });

  test('a failed commit applies nothing; the next run processes the batch once', async () => {
    const store = createSqliteStore(':memory:');
    let failures = 1;
    const flaky: Store = {
      ...store,
      commit: (batch) => {
        // As better-sqlite3 reports a full disk: transient, so retried rather than quarantined.
        if (failures-- > 0)
          return Promise.reject(
            Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
          );
        return store.commit(batch);
      },
    };
    const x = new World(flaky);
    await x.append(identify('u1', {}, 'a1'), track({ anonymousId: 'a2' }), identify('u1', {}, 'a2'));
    await assert.rejects(x.processor.drain(), /disk is full/);
    assert.equal(await store.cursors.get('processor'), 0);
    assert.equal(await x.idOf('userId', 'u1'), undefined);
    assert.equal(await x.newProcessor().drain(), 3);
    const p = await x.profile('userId', 'u1');
    assert.deepEqual(identifiersOf(p), ['anonymousId:a1', 'anonymousId:a2', 'userId:u1']);
  });

  test('two processors on one cursor: the stale one carries on from where the other stopped', async () => {
    const x = world({}, 1);
    const other = x.newProcessor();
    await x.send(identify('u1'));
    assert.equal(await other.drain(), 0, 'it reads the cursor the first processor moved');
    await x.append(track({ anonymousId: 'a1' }), identify('u1', {}, 'a1'));
    assert.equal(await x.processor.processBatch(), 1);
    // `other` last saw offset 1; its commit from there is refused and it re-reads the cursor.
    assert.equal(await other.drain(), 1);
    const p = await x.profile('anonymousId', 'a1');
    assert.equal(p?.id, 'p1');
    assert.equal(p?.merges.length, 1);
    assert.equal(await x.store.cursors.get('processor'), 3);
  });
});
