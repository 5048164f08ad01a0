import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Identifier, IdentityOp, MergeCause, ProfileView } from '../../identity/model.ts';
import type { IncomingEvent, LoggedEvent } from '../../ingest/event.ts';
import type { Store } from '../ports.ts';
import { CursorMovedError } from '../ports.ts';
import { quarantineContract } from './quarantine-contract.ts';
import { bulkContract } from './bulk-contract.ts';

// What every Store adapter must do, written against the port alone so the SQLite adapter and
// the Postgres one to come run exactly the same tests. `open` must return a fresh, empty store.

const T0 = Date.UTC(2025, 0, 1);

const track = (n: number, over: Partial<IncomingEvent> = {}): IncomingEvent => ({
  sourceId: 'web',
  messageId: `m${n}`,
  type: 'track',
  userId: 'u1',
  anonymousId: null,
  name: 'Product Viewed',
  timestamp: T0 + n,
  receivedAt: T0 + n + 500,
  message: { type: 'track', event: 'Product Viewed', userId: 'u1', messageId: `m${n}` },
  ...over,
});

/** The event as it was appended. An adapter may hand back the stored text too: it must say the same. */
const withoutOffset = (e: LoggedEvent): IncomingEvent => {
  if (e.body !== undefined) assert.deepEqual(JSON.parse(e.body), e.message, 'body is the message as JSON');
  const { sourceId, messageId, type, userId, anonymousId, name, timestamp, receivedAt, message } = e;
  return { sourceId, messageId, type, userId, anonymousId, name, timestamp, receivedAt, message };
};

const userId = (value: string): Identifier => ({ kind: 'userId', value });
const anonymousId = (value: string): Identifier => ({ kind: 'anonymousId', value });
const email = (value: string, address = value): Identifier => ({ kind: 'email', value, address });
const phone = (value: string): Identifier => ({ kind: 'phone', value });

const create = (profileId: string, at: number): IdentityOp => ({ op: 'create', profileId, at });
const attach = (profileId: string, identifier: Identifier, at = T0): IdentityOp => ({
  op: 'attach',
  profileId,
  identifier,
  at,
});
const trait = (profileId: string, name: string, value: unknown, ts: number): IdentityOp => ({
  op: 'trait',
  profileId,
  name,
  value,
  ts,
});
const invalid = (profileId: string, kind: 'email' | 'phone', value: string): IdentityOp => ({
  op: 'invalid',
  profileId,
  kind,
  value,
  reason: 'not valid',
});

/** Identifiers in a stable order: adapters may list them in any order. */
const sorted = (ids: readonly Identifier[] | undefined): Identifier[] =>
  [...(ids ?? [])].sort((a, b) => `${a.kind}:${a.value}`.localeCompare(`${b.kind}:${b.value}`));

export function storeContract(name: string, open: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    /** A test against a fresh store, closed afterwards whatever happens. */
    const it = (title: string, body: (store: Store) => Promise<void>): void => {
      test(title, async () => {
        const store = await open();
        try {
          await body(store);
        } finally {
          await store.close();
        }
      });
    };
    /** Applies ops with the cursor `test` moving one step, as a processor would. */
    const apply = async (store: Store, ops: IdentityOp[]): Promise<void> => {
      const at = await store.cursors.get('test');
      await store.identity.commit(ops, 'test', at, at + 1);
    };

    quarantineContract(it);
    bulkContract(it);

    describe('event log', () => {
      it('an empty log has head 0 and nothing to read', async (store) => {
        assert.equal(await store.events.head(), 0);
        assert.deepEqual(await store.events.readAfter(0, 100), []);
        assert.deepEqual(await store.events.append([]), { results: [] });
        assert.equal(await store.events.head(), 0);
      });

      it('events come back oldest first, field for field, with offsets that only grow', async (store) => {
        const events = [
          track(1),
          track(2, { type: 'identify', name: null, userId: null, anonymousId: 'a1' }),
          track(3),
        ];
        assert.deepEqual(await store.events.append(events), { results: ['stored', 'stored', 'stored'] });
        assert.deepEqual(await store.events.append([track(4)]), { results: ['stored'] });
        const logged = await store.events.readAfter(0, 100);
        assert.deepEqual(logged.map(withoutOffset), [...events, track(4)]);
        for (let i = 1; i < logged.length; i++) assert.ok(logged[i]!.offset > logged[i - 1]!.offset);
        assert.ok(logged[0]!.offset > 0, 'offsets start above 0, the position of an unread cursor');
        assert.equal(await store.events.head(), logged.at(-1)!.offset);
      });

      it('readAfter returns only events after the offset, at most `limit`', async (store) => {
        await store.events.append([1, 2, 3, 4, 5].map((n) => track(n)));
        const all = await store.events.readAfter(0, 100);
        const ids = (events: LoggedEvent[]): string[] => events.map((e) => e.messageId);
        assert.deepEqual(ids(await store.events.readAfter(0, 2)), ['m1', 'm2']);
        assert.deepEqual(ids(await store.events.readAfter(all[1]!.offset, 2)), ['m3', 'm4']);
        assert.deepEqual(ids(await store.events.readAfter(all[3]!.offset, 100)), ['m5']);
        assert.deepEqual(await store.events.readAfter(all[4]!.offset, 100), []);
        assert.deepEqual(await store.events.readAfter(0, 0), []);
      });

      it('a repeated messageId from the same source is acknowledged and stored once', async (store) => {
        await store.events.append([track(1)]);
        const head = await store.events.head();
        const again = track(1, { message: { type: 'track', event: 'Changed', messageId: 'm1' } });
        assert.deepEqual(await store.events.append([again, track(2)]), { results: ['duplicate', 'stored'] });
        const logged = await store.events.readAfter(0, 100);
        assert.deepEqual(logged.map(withoutOffset), [track(1), track(2)], 'the first copy is kept');
        assert.ok(logged[1]!.offset > head);
      });

      it('the same messageId from another source is a different event', async (store) => {
        const results = await store.events.append([track(1), track(1, { sourceId: 'ios' })]);
        assert.deepEqual(results, { results: ['stored', 'stored'] });
        assert.equal((await store.events.readAfter(0, 100)).length, 2);
      });

      it('duplicates within one append call are stored once', async (store) => {
        const results = await store.events.append([track(1), track(2), track(1), track(2), track(3)]);
        assert.deepEqual(results, { results: ['stored', 'stored', 'duplicate', 'duplicate', 'stored'] });
        assert.deepEqual(
          (await store.events.readAfter(0, 100)).map((e) => e.messageId),
          ['m1', 'm2', 'm3'],
        );
      });

      it('message bodies round-trip exactly', async (store) => {
        const message = {
          type: 'track' as const,
          event: 'Order Completed',
          messageId: 'm1',
          properties: {
            total: 129.99,
            negative: -3.5,
            big: Number.MAX_SAFE_INTEGER,
            exponent: 1e-7,
            free: false,
            coupon: null,
            empty: '',
            products: [
              { sku: 'A-1', qty: 2, tags: ['sale', 'new'] },
              { sku: 'B-2', nested: { deep: { deeper: [[], {}] } } },
            ],
            'dotted.key': 'kept',
            'key with spaces': 'kept',
          },
          context: {
            locale: 'ja-JP',
            traits: {
              name: 'Zoë Ångström',
              city: '東京',
              greeting: 'مرحبا',
              emoji: '🛒👩🏽‍💻',
              combining: 'e\u0301',
            },
            page: { url: 'https://example.com/a?b=c&d="e"\\f' },
            text: 'line\nbreak\ttab \u2028 separator',
          },
        };
        await store.events.append([track(1, { message })]);
        const [logged] = await store.events.readAfter(0, 1);
        assert.deepEqual(logged?.message, message);
        assert.equal(JSON.stringify(logged?.message), JSON.stringify(message), 'key order is kept too');
      });

      it('control characters, including NUL, round-trip in bodies', async (store) => {
        // Clients send what their users typed; a store that cannot keep a NUL (Postgres jsonb
        // cannot) must store the body as text.
        const message = {
          type: 'track' as const,
          event: 'Search',
          messageId: 'm1',
          properties: { q: 'a\u0000b\u0001\u001f' },
        };
        await store.events.append([track(1, { message })]);
        assert.deepEqual((await store.events.readAfter(0, 1))[0]?.message, message);
      });
    });

    describe('cursors', () => {
      it('start at 0 and appending events does not move them', async (store) => {
        assert.equal(await store.cursors.get('processor'), 0);
        await store.events.append([track(1), track(2)]);
        assert.equal(await store.cursors.get('processor'), 0);
      });

      it('move only through identity.commit, each by its own name', async (store) => {
        await store.identity.commit([], 'processor', 0, 3);
        assert.equal(await store.cursors.get('processor'), 3);
        assert.equal(await store.cursors.get('other'), 0);
        await store.identity.commit([], 'processor', 3, 7);
        await store.identity.commit([], 'other', 0, 1);
        assert.equal(await store.cursors.get('processor'), 7);
        assert.equal(await store.cursors.get('other'), 1);
      });

      for (const stale of [0, 9]) {
        it(`a commit from a stale position (${stale}) throws CursorMovedError and applies nothing`, async (store) => {
          await store.identity.commit([], 'processor', 0, 5);
          const ops = [create('p1', T0), attach('p1', userId('u1')), trait('p1', 'plan', 'gold', T0)];
          const error: unknown = await store.identity.commit(ops, 'processor', stale, 10).then(
            () => assert.fail('the commit was accepted'),
            (e: unknown) => e,
          );
          assert.ok(error instanceof CursorMovedError, `got ${String(error)}`);
          assert.equal(error.cursorName, 'processor');
          assert.equal(error.expected, stale);
          assert.equal(error.actual, 5);
          assert.equal(await store.cursors.get('processor'), 5);
          assert.equal(await store.identity.getProfile('p1'), undefined);
          assert.equal(await store.identity.findProfile(userId('u1')), undefined);
        });
      }
    });

    describe('profiles', () => {
      it('a profile is found by every identifier it holds and by its id', async (store) => {
        const ids = [
          userId('u1'),
          anonymousId('a1'),
          email('ann@example.com', 'ann+news@example.com'),
          phone('+447911123456'),
        ];
        await apply(store, [create('p1', T0), ...ids.map((i) => attach('p1', i))]);
        const expected: ProfileView = {
          id: 'p1',
          createdAt: T0,
          identifiers: sorted(ids),
          traits: {},
          merges: [],
          invalid: { email: 0, phone: 0 },
        };
        for (const i of ids) {
          const found = await store.identity.findProfile({ kind: i.kind, value: i.value });
          assert.deepEqual(
            found && { ...found, identifiers: sorted(found.identifiers) },
            expected,
            `${i.kind}:${i.value}`,
          );
        }
        const byId = await store.identity.getProfile('p1');
        assert.deepEqual(byId && { ...byId, identifiers: sorted(byId.identifiers) }, expected);
      });

      it('unknown identifiers and ids find nothing', async (store) => {
        await apply(store, [create('p1', T0), attach('p1', userId('u1'))]);
        assert.equal(await store.identity.findProfile(userId('u2')), undefined);
        assert.equal(
          await store.identity.findProfile(anonymousId('u1')),
          undefined,
          'the kind is part of the key',
        );
        assert.equal(await store.identity.getProfile('p2'), undefined);
      });

      it('snapshot lists each profile owning a key once, with all its identifiers', async (store) => {
        await apply(store, [
          create('p1', T0),
          attach('p1', userId('u1')),
          attach('p1', anonymousId('a1')),
          create('p2', T0 + 1),
          attach('p2', userId('u2')),
        ]);
        assert.deepEqual(await store.identity.snapshot([]), { profiles: [] });
        const { profiles } = await store.identity.snapshot([
          userId('u1'),
          anonymousId('a1'),
          userId('nobody'),
        ]);
        assert.deepEqual(
          profiles.map((p) => ({ ...p, identifiers: sorted(p.identifiers) })),
          [{ id: 'p1', createdAt: T0, identifiers: sorted([userId('u1'), anonymousId('a1')]) }],
        );
      });

      it('traits: the latest event timestamp wins, whatever the order of arrival', async (store) => {
        await apply(store, [
          create('p1', T0),
          attach('p1', userId('u1')),
          trait('p1', 'plan', 'gold', T0 + 20),
        ]);
        await apply(store, [trait('p1', 'plan', 'silver', T0 + 10), trait('p1', 'city', 'Leeds', T0 + 10)]);
        await apply(store, [trait('p1', 'city', 'York', T0 + 30)]);
        assert.deepEqual((await store.identity.getProfile('p1'))?.traits, {
          plan: { value: 'gold', ts: T0 + 20 },
          city: { value: 'York', ts: T0 + 30 },
        });
      });

      it('traits: on equal timestamps the later write wins', async (store) => {
        await apply(store, [create('p1', T0), trait('p1', 'plan', 'gold', T0)]);
        await apply(store, [trait('p1', 'plan', 'silver', T0)]);
        assert.deepEqual((await store.identity.getProfile('p1'))?.traits.plan, { value: 'silver', ts: T0 });
      });

      it('trait values round-trip as JSON', async (store) => {
        const values: Record<string, unknown> = {
          text: 'Zoë 東京 🛒',
          number: 12.5,
          zero: 0,
          yes: true,
          nothing: null,
          list: [1, 'two', { three: 3 }],
          object: { address: { city: 'Leeds', lines: ['1 Park Row'] } },
        };
        await apply(store, [
          create('p1', T0),
          ...Object.entries(values).map(([k, v]) => trait('p1', k, v, T0)),
        ]);
        const traits = (await store.identity.getProfile('p1'))?.traits ?? {};
        assert.deepEqual(Object.fromEntries(Object.entries(traits).map(([k, t]) => [k, t.value])), values);
      });

      it('invalid emails and phones are counted per profile, each distinct value once', async (store) => {
        await apply(store, [
          create('p1', T0),
          invalid('p1', 'email', 'not an email'),
          invalid('p1', 'email', 'also@bad'),
          invalid('p1', 'phone', '123'),
        ]);
        await apply(store, [invalid('p1', 'email', 'not an email')]);
        assert.deepEqual((await store.identity.getProfile('p1'))?.invalid, { email: 2, phone: 1 });
      });
    });

    describe('merges', () => {
      const twoProfiles = (): IdentityOp[] => [
        create('p1', T0),
        attach('p1', userId('u1')),
        attach('p1', email('ann@example.com')),
        trait('p1', 'plan', 'gold', T0 + 10),
        trait('p1', 'city', 'Leeds', T0 + 30),
        trait('p1', 'tier', 1, T0 + 5),
        invalid('p1', 'email', 'bad-1'),
        { op: 'event', profileId: 'p1', offset: 1 },
        create('p2', T0 + 1),
        attach('p2', anonymousId('a2')),
        attach('p2', phone('+14155552671')),
        trait('p2', 'plan', 'silver', T0 + 20),
        trait('p2', 'city', 'York', T0 + 20),
        trait('p2', 'tier', 2, T0 + 5),
        trait('p2', 'only', 'p2', T0),
        invalid('p2', 'email', 'bad-1'),
        invalid('p2', 'email', 'bad-2'),
        invalid('p2', 'phone', 'bad-3'),
        { op: 'event', profileId: 'p2', offset: 2 },
      ];
      const mergeOp = (from: string, into: string, at: number, cause: MergeCause = 'email'): IdentityOp => ({
        op: 'merge',
        from,
        into,
        cause,
        at,
        offset: 3,
      });

      it('the survivor takes every identifier, trait and invalid count; the merged id follows to it', async (store) => {
        await apply(store, twoProfiles());
        await apply(store, [mergeOp('p2', 'p1', T0 + 100)]);
        const viaMerged = await store.identity.getProfile('p2');
        const viaIdentifier = await store.identity.findProfile(anonymousId('a2'));
        const survivor = await store.identity.getProfile('p1');
        assert.deepEqual(viaMerged, survivor);
        assert.deepEqual(viaIdentifier, survivor);
        assert.equal(survivor?.id, 'p1');
        assert.equal(survivor?.createdAt, T0);
        assert.deepEqual(
          sorted(survivor?.identifiers),
          sorted([userId('u1'), email('ann@example.com'), anonymousId('a2'), phone('+14155552671')]),
        );
        assert.deepEqual(survivor?.traits, {
          plan: { value: 'silver', ts: T0 + 20 },
          city: { value: 'Leeds', ts: T0 + 30 },
          tier: { value: 1, ts: T0 + 5 }, // a tie keeps the survivor's value
          only: { value: 'p2', ts: T0 },
        });
        assert.deepEqual(survivor?.invalid, { email: 2, phone: 1 });
        assert.deepEqual(survivor?.merges, [{ from: 'p2', into: 'p1', cause: 'email', at: T0 + 100 }]);
        const { profiles } = await store.identity.snapshot([phone('+14155552671')]);
        assert.deepEqual(
          profiles.map((p) => p.id),
          ['p1'],
        );
      });

      it('a chain of merges leads every id and identifier to the last survivor, with every record', async (store) => {
        await apply(store, [
          create('p1', T0),
          attach('p1', userId('u1')),
          create('p2', T0 + 1),
          attach('p2', anonymousId('a2')),
          create('p3', T0 + 2),
          attach('p3', anonymousId('a3')),
        ]);
        await apply(store, [mergeOp('p3', 'p2', T0 + 10, 'identify')]);
        await apply(store, [mergeOp('p2', 'p1', T0 + 20, 'alias')]);
        for (const id of ['p1', 'p2', 'p3'])
          assert.equal((await store.identity.getProfile(id))?.id, 'p1', id);
        for (const i of [userId('u1'), anonymousId('a2'), anonymousId('a3')]) {
          assert.equal((await store.identity.findProfile(i))?.id, 'p1', i.value);
        }
        const merges = (await store.identity.getProfile('p1'))?.merges ?? [];
        assert.deepEqual(
          [...merges].sort((a, b) => a.at - b.at),
          [
            { from: 'p3', into: 'p2', cause: 'identify', at: T0 + 10 },
            { from: 'p2', into: 'p1', cause: 'alias', at: T0 + 20 },
          ],
        );
      });

      it('ops apply in order within one commit: create, attach, merge, then attach to the survivor', async (store) => {
        await apply(store, [
          ...twoProfiles(),
          mergeOp('p2', 'p1', T0 + 100),
          attach('p1', anonymousId('a9')),
          trait('p1', 'plan', 'platinum', T0 + 200),
        ]);
        const p = await store.identity.findProfile(anonymousId('a9'));
        assert.equal(p?.id, 'p1');
        assert.equal(p?.identifiers.length, 5);
        assert.deepEqual(p?.traits.plan, { value: 'platinum', ts: T0 + 200 });
      });
    });

    describe('atomicity', () => {
      const failing = (): IdentityOp[] => [
        create('p1', T0),
        attach('p1', userId('u1')),
        trait('p1', 'plan', 'gold', T0),
        create('p2', T0),
        attach('p2', userId('u1')), // already owned by p1
      ];

      it('a commit that fails part-way applies nothing and leaves the cursor', async (store) => {
        await store.identity.commit([], 'processor', 0, 4);
        await assert.rejects(store.identity.commit(failing(), 'processor', 4, 8));
        assert.equal(await store.cursors.get('processor'), 4);
        assert.equal(await store.identity.getProfile('p1'), undefined);
        assert.equal(await store.identity.getProfile('p2'), undefined);
        assert.equal(await store.identity.findProfile(userId('u1')), undefined);
        await store.identity.commit([create('p1', T0)], 'processor', 4, 8);
        assert.equal((await store.identity.getProfile('p1'))?.id, 'p1', 'the store is usable afterwards');
      });

      it('creating a profile id twice fails', async (store) => {
        await apply(store, [create('p1', T0)]);
        await assert.rejects(apply(store, [create('p1', T0 + 1)]));
        assert.equal((await store.identity.getProfile('p1'))?.createdAt, T0);
      });

      it('failures are rejected promises, never synchronous throws', async (store) => {
        let pending: Promise<void> | undefined;
        assert.doesNotThrow(() => {
          pending = store.identity.commit(failing(), 'processor', 0, 1);
        });
        await assert.rejects(pending!);
        assert.doesNotThrow(() => {
          pending = store.identity.commit([], 'processor', 5, 6);
        });
        await assert.rejects(pending!, CursorMovedError);
      });
    });
  });
}
