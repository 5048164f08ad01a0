import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { columnsOf } from '../../ingest/event.ts';
import type { StoreTest } from './fixtures.ts';
import { T0, create, messageIds, track, withoutOffset } from './fixtures.ts';

/** The event log and the cursors of the stages that read it. */
export function eventLogContract(it: StoreTest): void {
  describe('event log', () => {
    it('events.head, events.readAfter, events.append: an empty log has head 0 and nothing to read', async (store) => {
      assert.equal(await store.events.head(), 0);
      assert.deepEqual(await store.events.readAfter(0, 100), []);
      assert.deepEqual(await store.events.append([]), { results: [] });
      assert.equal(await store.events.head(), 0);
    });

    it('events.append: events come back oldest first, field for field, with offsets that only grow', async (store) => {
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

    it('events.readAfter returns only events after the offset, at most `limit`', async (store) => {
      await store.events.append([1, 2, 3, 4, 5].map((n) => track(n)));
      const all = await store.events.readAfter(0, 100);
      assert.deepEqual(messageIds(await store.events.readAfter(0, 2)), ['m1', 'm2']);
      assert.deepEqual(messageIds(await store.events.readAfter(all[1]!.offset, 2)), ['m3', 'm4']);
      assert.deepEqual(messageIds(await store.events.readAfter(all[3]!.offset, 100)), ['m5']);
      assert.deepEqual(await store.events.readAfter(all[4]!.offset, 100), []);
      assert.deepEqual(await store.events.readAfter(0, 0), []);
    });

    it('events.append: a repeated messageId from the same source is acknowledged and stored once', async (store) => {
      await store.events.append([track(1)]);
      const head = await store.events.head();
      const again = track(1, { message: { type: 'track', event: 'Changed', messageId: 'm1' } });
      assert.deepEqual(await store.events.append([again, track(2)]), { results: ['duplicate', 'stored'] });
      const logged = await store.events.readAfter(0, 100);
      assert.deepEqual(logged.map(withoutOffset), [track(1), track(2)], 'the first copy is kept');
      assert.ok(logged[1]!.offset > head);
      assert.equal(await store.events.head(), logged[1]!.offset);
    });

    it('events.append: the same messageId from another source is a different event', async (store) => {
      const results = await store.events.append([track(1), track(1, { sourceId: 'ios' })]);
      assert.deepEqual(results, { results: ['stored', 'stored'] });
      assert.equal((await store.events.readAfter(0, 100)).length, 2);
    });

    it('events.append: duplicates within one call are stored once', async (store) => {
      const results = await store.events.append([track(1), track(2), track(1), track(2), track(3)]);
      assert.deepEqual(results, { results: ['stored', 'stored', 'duplicate', 'duplicate', 'stored'] });
      assert.deepEqual(messageIds(await store.events.readAfter(0, 100)), ['m1', 'm2', 'm3']);
    });

    it('events.append: concurrent calls each settle with their own outcomes', async (store) => {
      const [a, b] = await Promise.all([
        store.events.append([track(1), track(2)]),
        store.events.append([track(3), track(1)]),
      ]);
      assert.deepEqual(a, { results: ['stored', 'stored'] });
      assert.deepEqual(b, { results: ['stored', 'duplicate'] });
      assert.deepEqual(sortedIds(messageIds(await store.events.readAfter(0, 100))), ['m1', 'm2', 'm3']);
    });

    it('events.appendColumns stores what append would, deduplicated against it', async (store, t) => {
      const appendColumns = store.events.appendColumns?.bind(store.events);
      if (!appendColumns) {
        t.skip('the adapter has no appendColumns (optional: callers fall back to append)');
        return;
      }
      await store.events.append([track(1)]);
      const rows = [track(1), track(2), track(3, { body: '{"type":"track","event":"Product Viewed"}' })];
      const expected = { type: 'track', event: 'Product Viewed' };
      assert.deepEqual(await appendColumns(rows.map(columnsOf)), {
        results: ['duplicate', 'stored', 'stored'],
      });
      assert.deepEqual(await appendColumns([]), { results: [] });
      assert.deepEqual(await appendColumns([columnsOf(track(2))]), { results: ['duplicate'] });
      const logged = await store.events.readAfter(0, 100);
      assert.deepEqual(logged.map(withoutOffset), [
        track(1),
        track(2),
        { ...track(3), message: expected as never },
      ]);
      assert.deepEqual(await store.events.append([track(3)]), { results: ['duplicate'] });
    });

    it('events.readAfter: message bodies round-trip exactly', async (store) => {
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

    it('events.readAfter: control characters, including NUL, round-trip in bodies', async (store) => {
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
    it('cursors.get: start at 0 and appending events does not move them', async (store) => {
      assert.equal(await store.cursors.get('processor'), 0);
      await store.events.append([track(1), track(2)]);
      assert.equal(await store.cursors.get('processor'), 0);
    });

    it('cursors.get: cursors move only through a commit, each by its own name', async (store) => {
      await store.identity.commit([], 'processor', 0, 3);
      assert.equal(await store.cursors.get('processor'), 3);
      assert.equal(await store.cursors.get('other'), 0);
      await store.identity.commit([], 'processor', 3, 7);
      await store.identity.commit([create('p1', T0)], 'other', 0, 1);
      assert.equal(await store.cursors.get('processor'), 7);
      assert.equal(await store.cursors.get('other'), 1);
      await store.identity.commit([], 'processor', 7, 2);
      assert.equal(await store.cursors.get('processor'), 2, 'a cursor may be set back (a replay)');
    });
  });
}

const sortedIds = (ids: string[]): string[] => [...ids].sort();
