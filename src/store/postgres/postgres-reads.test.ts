import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { DesiredState } from '../../sync/ports.ts';
import type { Store } from '../ports.ts';
import { openStoreWithSql } from './pg-fixture.ts';
import { postgresProfileViews } from './profile-views.ts';

// The monitor's and the admin API's read models over one small world. Events, profiles,
// memberships and the change outbox are rows the processor writes through `commit`; they are set
// here directly, so these reads are checked on their own. The sync ledger goes through its port.

const T0 = Date.UTC(2025, 0, 1);
const D = 'cordial';

let world: Awaited<ReturnType<typeof openStoreWithSql>>;
let store: Store;

const want = (list: string, profileId: string, changeSeq: number, changedAt: number): DesiredState => ({
  contact: 'email:A@x.com',
  list,
  audience: list,
  profileId,
  email: 'A@x.com',
  desired: true,
  changeSeq,
  cause: 'test',
  version: 'v1',
  changedAt,
  priority: 0,
  dueAt: changedAt,
});

before(async () => {
  world = await openStoreWithSql();
  store = world.store;
  const { sql } = world;
  const event = (seq: number, name: string, ts: number) =>
    sql`INSERT INTO events (seq, source_id, message_id, type, name, user_id, ts, received_at, body)
        VALUES (${seq}, 'web', ${`m${seq}`}, 'track', ${name}, 'u', ${ts}, ${ts + 1},
          ${JSON.stringify({ type: 'track', event: name, messageId: `m${seq}` })})`;
  await event(1, 'Product Added', T0 + 4);
  await event(2, 'Order Completed', T0 + 10);
  await event(3, 'Order Completed', T0 + 4);
  await sql`INSERT INTO profiles (id, created_at) VALUES ('p1', ${T0}), ('p2', ${T0}), ('p3', ${T0})`;
  await sql`INSERT INTO identifiers (kind, value, profile_id, address, first_seen)
            VALUES ('email', 'a@x.com', 'p1', 'A@x.com', ${T0}), ('userId', 'u2', 'p2', NULL, ${T0})`;
  await sql`INSERT INTO profile_events (profile_id, seq) VALUES ('p1', 1), ('p1', 2), ('p2', 3)`;
  await sql`INSERT INTO profile_state (profile_id, state, wake_at)
            VALUES ('p1', '{}', ${T0 + 100}), ('p2', '{}', ${T0 + 50}), ('p3', '{}', NULL)`;
  await sql`INSERT INTO memberships (audience, profile_id, since, held_out) VALUES
            ('cart', 'p1', ${T0 + 5}, false), ('cart', 'p2', ${T0 + 6}, true),
            ('viewed', 'p1', ${T0 + 1}, false), ('viewed', 'p3', ${T0 + 2}, false)`;
  const cause = (offset: number) =>
    JSON.stringify({ kind: 'event', offset, event: 'x', messageId: `m${offset}` });
  await sql`INSERT INTO changes (seq, audience, profile_id, change, at, cause, version, held_out) VALUES
            (1, 'cart', 'p1', 'enter', ${T0 + 5}, ${cause(1)}, 'v1', false),
            (2, 'cart', 'p2', 'enter', ${T0 + 6}, ${cause(3)}, 'v1', true),
            (3, 'viewed', 'p1', 'enter', ${T0 + 1}, ${cause(1)}, 'v1', false),
            (4, 'viewed', 'p3', 'enter', ${T0 + 2}, '{"kind":"window"}', 'v1', false),
            (5, 'viewed', 'p2', 'exit', ${T0 + 3}, '{"kind":"window"}', 'v1', false)`;
  await store.sync.record(
    D,
    { name: 'sync:cordial', from: 0, to: 5 },
    [want('cart', 'p1', 1, T0 + 5), want('viewed', 'p1', 3, T0 + 1)],
    [{ audience: 'viewed', profileId: 'p3', reason: 'no valid email', at: T0 + 2 }],
  );
  const [cart, viewed] = await store.sync
    .due(D, T0 + 5, 10)
    .then((items) => [...items].sort((a, b) => a.list.localeCompare(b.list)));
  const sent = { attempts: 1, nextAttemptAt: 0, message: '', request: '{}' };
  await store.sync.results(D, [
    { ...sent, item: cart!, result: 'ok', status: 200, at: T0 + 20 },
    { ...sent, item: viewed!, result: 'dead', status: 429, message: 'refused', at: T0 + 21 },
  ]);
});
after(() => world.close());

describe('monitor reads', () => {
  test('counts of members, overstays, matches, dead letters, acknowledgements, queue and wake-ups', async () => {
    assert.deepEqual(await store.monitor.audienceCounts(), [
      { audience: 'cart', members: 2, heldOut: 1 },
      { audience: 'viewed', members: 2, heldOut: 0 },
    ]);
    assert.deepEqual(
      await store.monitor.overstayed(
        new Map([
          ['cart', T0 + 6],
          ['viewed', T0 + 100],
          ['none', T0],
        ]),
      ),
      new Map([
        ['cart', 1],
        ['viewed', 2],
        ['none', 0],
      ]),
    );
    assert.deepEqual(await store.monitor.matchCounts(D), [{ audience: 'cart', accepted: 1 }]);
    assert.deepEqual(await store.monitor.unacknowledgedExits(D, T0 + 100), new Map());
    assert.deepEqual(await store.monitor.deadCounts(D), new Map([['viewed', 1]]));
    assert.deepEqual(await store.monitor.lastAcknowledged(D), new Map([['cart', T0 + 20]]));
    assert.deepEqual(await store.monitor.queueDepth(D), { pending: 0, retrying: 0 });
    assert.deepEqual(await store.monitor.wakeups(T0 + 60), { pending: 2, overdue: 1 });
    assert.deepEqual(await store.monitor.eventAfter(1), { offset: 2, receivedAt: T0 + 11 });
    assert.equal(await store.monitor.eventAfter(3), undefined);
  });

  test('changes in a period, conversions by group, and the log tallies since a watermark', async () => {
    assert.deepEqual(await store.monitor.changeCounts(T0, T0 + 6), [
      { audience: 'cart', enters: 1, exits: 0 },
      { audience: 'viewed', enters: 2, exits: 1 },
    ]);
    assert.deepEqual(await store.monitor.conversions('Order Completed', T0), [
      { audience: 'cart', treated: 1, treatedConverted: 1, heldOut: 1, heldOutConverted: 0 },
      { audience: 'viewed', treated: 2, treatedConverted: 1, heldOut: 0, heldOutConverted: 0 },
    ]);
    assert.deepEqual(await store.monitor.watermarks(), { eventSeq: 3, logId: 2 });
    assert.deepEqual(await store.monitor.tallies(0, 0), {
      eventSeq: 3,
      logId: 2,
      stored: [{ source: 'web', type: 'track', count: 3 }],
      acknowledged: [{ destination: D, audience: 'cart', ms: T0 + 20 - (T0 + 5) }],
    });
    assert.deepEqual(await store.monitor.tallies(3, 2), {
      eventSeq: 3,
      logId: 2,
      stored: [],
      acknowledged: [],
    });
  });

  test('samples: recorded in one statement, read as a series, pruned by age', async () => {
    const sample = (at: number, value: number, audience = 'cart') => ({
      check: 'size' as const,
      audience,
      destination: '',
      at,
      value,
    });
    await store.monitor.record([
      sample(T0, 1),
      sample(T0 + 2, 2.5),
      sample(T0 + 1, 3, 'viewed'),
      sample(T0 + 3, 4),
    ]);
    assert.deepEqual(await store.monitor.series('size', 'cart', '', T0 + 1), [
      { at: T0 + 2, value: 2.5 },
      { at: T0 + 3, value: 4 },
    ]);
    assert.equal(await store.monitor.prune(T0 + 2), 2, 'samples older than the cut-off go');
    assert.deepEqual(await store.monitor.series('size', 'cart', '', 0), [
      { at: T0 + 2, value: 2.5 },
      { at: T0 + 3, value: 4 },
    ]);
    assert.equal(await store.monitor.prune(T0 + 2), 0);
  });
});

describe('admin reads', () => {
  test('member counts, change buckets, samples of members and a profile’s recent events', async () => {
    assert.deepEqual(await store.admin.memberCounts(), await store.monitor.audienceCounts());
    assert.deepEqual(await store.admin.changeBuckets(undefined, T0, 1000), [{ at: T0, enters: 4, exits: 1 }]);
    assert.deepEqual(await store.admin.changeBuckets('cart', T0 + 6, 1000), [
      { at: T0, enters: 1, exits: 0 },
    ]);
    assert.deepEqual(await store.admin.sampleMembers('cart', 5), [
      { profileId: 'p2', since: T0 + 6, heldOut: true, label: 'u2' },
      { profileId: 'p1', since: T0 + 5, heldOut: false, label: 'A@x.com' },
    ]);
    const events = await store.admin.recentEvents('p1', 1);
    assert.deepEqual(
      events.map((e) => [e.offset, e.name, e.timestamp, e.message]),
      [[2, 'Order Completed', T0 + 10, { type: 'track', event: 'Order Completed', messageId: 'm2' }]],
    );
  });

  test('send buckets, last sends and acknowledgements from the sync log', async () => {
    assert.deepEqual(await store.admin.sendBuckets(D, T0, 1000), [
      { at: T0, ok: 1, retried: 0, dead: 1, rateLimited: 1 },
    ]);
    assert.deepEqual(await store.admin.lastSends(D), [
      { audience: 'cart', lastAt: T0 + 20, lastOkAt: T0 + 20 },
      { audience: 'viewed', lastAt: T0 + 21, lastOkAt: undefined },
    ]);
    assert.deepEqual(await store.admin.acknowledged(D, T0, 10), [
      { audience: 'cart', desired: true, changedAt: T0 + 5, at: T0 + 20 },
    ]);
    assert.deepEqual(await store.admin.acknowledged(D, T0 + 21, 10), []);
  });

  test('where each member stands, overlaps between audiences, and the lists a profile is on', async () => {
    const standing = async (audience: string, alsoIn?: string) =>
      (await store.admin.memberStanding(D, audience, alsoIn)).map(
        (m) => `${m.profileId} ${m.standing} ${m.label}`,
      );
    assert.deepEqual(await standing('cart'), ['p2 held_out u2', 'p1 held A@x.com']);
    assert.deepEqual(await standing('viewed'), ['p3 no_identifier undefined', 'p1 refused A@x.com']);
    assert.deepEqual(await standing('viewed', 'cart'), ['p1 refused A@x.com']);
    assert.deepEqual(await store.admin.overlap(), [{ a: 'cart', b: 'viewed', members: 1 }]);
    assert.deepEqual(await store.admin.listsOf(D, 'p1'), [
      { audience: 'cart', list: 'cart', contact: 'email:A@x.com', wanted: true, held: true, state: 'done' },
      {
        audience: 'viewed',
        list: 'viewed',
        contact: 'email:A@x.com',
        wanted: true,
        held: false,
        state: 'dead',
      },
    ]);
  });
});

test('identity.getProfiles: each id read as getProfile reads it, merges followed, deleted ones absent', async () => {
  const { sql } = world;
  await sql`INSERT INTO profiles (id, created_at, merged_into, deleted_at) VALUES
            ('p4', ${T0}, 'p1', NULL), ('p5', ${T0}, 'p4', NULL), ('p6', ${T0}, NULL, ${T0 + 1})`;
  await sql`INSERT INTO merges (from_profile, into_profile, cause, at, event_seq) VALUES
            ('p5', 'p4', 'identify', ${T0 + 1}, 0), ('p4', 'p1', 'identify', ${T0 + 2}, 0)`;
  await sql`INSERT INTO traits (profile_id, name, value, ts) VALUES ('p1', 'plan', '{"tier":1}', ${T0 + 3})`;
  await sql`INSERT INTO invalid_identifiers (profile_id, kind, value, reason) VALUES
            ('p1', 'email', 'bad', 'x'), ('p1', 'email', 'worse', 'x'), ('p1', 'phone', '1', 'x')`;
  const p1 = {
    id: 'p1',
    createdAt: T0,
    identifiers: [{ kind: 'email', value: 'a@x.com', address: 'A@x.com' }],
    traits: { plan: { value: { tier: 1 }, ts: T0 + 3 } },
    merges: [
      { from: 'p5', into: 'p4', cause: 'identify', at: T0 + 1 },
      { from: 'p4', into: 'p1', cause: 'identify', at: T0 + 2 },
    ],
    invalid: { email: 2, phone: 1 },
  };
  const p2 = {
    id: 'p2',
    createdAt: T0,
    identifiers: [{ kind: 'userId', value: 'u2' }],
    traits: {},
    merges: [],
    invalid: { email: 0, phone: 0 },
  };
  const views = await postgresProfileViews(sql).getProfiles(['p5', 'p2', 'p6', 'nobody', 'p1']);
  assert.deepEqual(
    views,
    new Map<string, unknown>([
      ['p5', p1],
      ['p2', p2],
      ['p1', p1],
    ]),
  );
  assert.deepEqual(await postgresProfileViews(sql).getProfiles([]), new Map());
});
