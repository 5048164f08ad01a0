import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { WRITE_KEYS, basic, harness } from '../helpers/harness.ts';
import type { Harness } from '../helpers/harness.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestStoreKind } from '../helpers/store.ts';
import { rawSql, testStoreKind } from '../helpers/store.ts';
import type { IncomingEvent } from '../../src/ingest/event.ts';
import type { Message } from '../../src/ingest/messages.ts';

// Events an older Handoff stored before ingest refused them, put in the log as it would have:
// each must be processed or quarantined, and must not hold up the next event.
const example = parse(readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: unknown[];
};
const ADMIN = 'poison-admin-token';

/** JSON text nested `depth` objects deep, built as text: building it as objects would not serialise. */
const deep = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
/** An event as the log keeps it, numbered `n`, with `body` as its text and `over` replacing fields. */
interface StoredEvent {
  n: string;
  type: 'identify' | 'track';
  userId: string;
  body: string;
  over?: Partial<IncomingEvent>;
}

function stored({ n, type, userId, body, over = {} }: StoredEvent): IncomingEvent {
  return {
    sourceId: 'backend',
    messageId: `poison-${n}`,
    type,
    userId,
    anonymousId: null,
    name: type === 'track' ? 'Order Completed' : null,
    timestamp: Date.now(),
    receivedAt: Date.now(),
    message: JSON.parse(body.length < 10_000 ? body : '{}') as Message,
    body,
    ...over,
  };
}

const CASES: {
  name: string;
  user: string;
  events: (h: Harness) => IncomingEvent[] | Promise<void>;
  expect: 'processed' | 'quarantined';
  /** The store that cannot hold this event: on it, the append is refused and nothing is stored. */
  refusedBy?: TestStoreKind;
}[] = [
  {
    name: 'traits nested 4,500 deep',
    user: 'deep-traits',
    expect: 'quarantined',
    events: () => [
      stored({
        n: 'deep-traits',
        type: 'identify',
        userId: 'deep-traits',
        body: `{"type":"identify","userId":"deep-traits","traits":{"x":${deep(4_500)}}}`,
      }),
    ],
  },
  {
    name: 'ts = -1e300, stored from sentAt: 1e300',
    user: 'old-ts',
    expect: 'processed',
    // PostgreSQL keeps event times as bigint milliseconds: it cannot hold this row at all.
    refusedBy: 'postgres',
    events: () => [
      stored({
        n: 'old-ts',
        type: 'track',
        userId: 'old-ts',
        body: '{"type":"track","userId":"old-ts","event":"Order Completed","properties":{"revenue":5}}',
        over: {
          timestamp: -1e300,
        },
      }),
    ],
  },
  {
    name: 'two orders of revenue 1e308',
    user: 'rich',
    expect: 'processed',
    events: () =>
      ['a', 'b'].map((x) =>
        stored({
          n: `rich-${x}`,
          type: 'track',
          userId: 'rich',
          body: '{"type":"track","userId":"rich","event":"Order Completed","properties":{"revenue":1e308}}',
        }),
      ),
  },
  {
    name: 'properties nested 4,000 deep',
    user: 'deep-props',
    expect: 'processed',
    events: () => [
      stored({
        n: 'deep-props',
        type: 'track',
        userId: 'deep-props',
        body: `{"type":"track","userId":"deep-props","event":"Order Completed","properties":{"revenue":20,"x":${deep(4_000)}}}`,
      }),
    ],
  },
  {
    name: 'a corrupted row: a body that is not JSON',
    user: 'corrupt',
    expect: 'quarantined',
    events: async (h) => {
      const raw = rawSql(h);
      try {
        await raw.exec(
          `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
           VALUES ('backend', 'poison-corrupt', 'identify', 'corrupt', NULL, NULL, ?, ?, '{"traits": {"email"')`,
          Date.now(),
          Date.now(),
        );
      } finally {
        await raw.close();
      }
    },
  },
];

const until = async (what: () => Promise<boolean>, ms: number): Promise<boolean> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return what();
};

describe('poison events in the log never stall processing', () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.expect}, and the next event still moves an audience within a second`, async () => {
      const h = await harness({
        extra: stringify({ server: { adminToken: { env: 'ADMIN_TOKEN' } }, audiences: example.audiences }),
        env: { ADMIN_TOKEN: ADMIN },
      });
      try {
        h.app.start();
        const events = await c.events(h);
        const refused = c.refusedBy === testStoreKind();
        if (refused) await assert.rejects(h.app.store.events.append(events!), /bigint/);
        else if (events) await h.app.store.events.append(events);
        const expect = refused ? 'absent' : c.expect;
        const sent = Date.now();
        const res = await h.server.inject({
          method: 'POST',
          url: '/v1/track',
          headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
          payload: { userId: 'next', event: 'Product Added', properties: { product_id: 'p1' } },
        });
        assert.equal(res.statusCode, 200, res.body);
        const member = async () => {
          const next = await h.app.store.identity.findProfile({ kind: 'userId', value: 'next' });
          const members = await h.app.store.audiences.members('cart_0_4h');
          return next !== undefined && members.some((m) => m.profileId === next.id);
        };
        assert.ok(await until(member, 1_000), `the next event was not processed within 1 s`);
        const took = Date.now() - sent;
        assert.ok(took <= 1_000, `${took} ms`);
        await h.app.settle();

        const quarantined = await h.app.store.quarantine.list();
        if (expect === 'quarantined') {
          assert.equal(quarantined.length, 1, JSON.stringify(quarantined));
          assert.equal(quarantined[0]!.messageId, `poison-${c.user}`);
        } else assert.deepEqual(quarantined, []);

        const view = await h.server.inject({
          method: 'GET',
          url: `/api/admin/profiles/${c.user}`,
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        assert.ok(
          view.statusCode === (expect === 'absent' ? 404 : 200) ||
            (expect === 'quarantined' && view.statusCode === 404),
          view.body.slice(0, 500),
        );
        if (expect === 'processed') {
          const body = view.json<{
            events: { timestamp: number }[];
            memberships: { audience: string; member: boolean }[];
          }>();
          assert.ok(body.events.length > 0);
          assert.ok(body.memberships.find((m) => m.audience === 'purchased_7d'));
        }

        const configFile = join(h.dir, 'handoff.yaml');
        writeFileSync(
          configFile,
          stringify({
            storage: h.storage.section,
            sources: [{ id: 'web', writeKey: { env: 'WEB_KEY' } }],
            audiences: example.audiences,
          }),
        );
        const explained = await runCli(configFile, { WEB_KEY: 'k' }, 'explain', '--profile', c.user);
        assert.ok(!/\n\s+at /.test(explained.err) && !/\n\s+at /.test(explained.out), explained.err);
        assert.equal(explained.code, expect === 'quarantined' || expect === 'absent' ? 1 : 0, explained.err);
      } finally {
        await h.close();
      }
    });
  }
});

describe('a transient failure is retried, never quarantined', () => {
  test('a write lock held by another connection: the batch waits it out, then processes', async () => {
    const h = await harness({ extra: stringify({ audiences: example.audiences }) });
    const raw = rawSql(h);
    try {
      await h.app.store.events.append([
        stored({
          n: 'locked',
          type: 'track',
          userId: 'locked',
          body: '{"type":"track","userId":"locked","event":"Order Completed","properties":{"revenue":5}}',
        }),
      ]);
      const hold = await raw.holdWriteLock<{ position: number }>(
        3_000,
        "SELECT position FROM cursors WHERE name = 'processor'",
      );
      // The batch meets the lock at its commit: SQLite waits for it (busy_timeout), PostgreSQL
      // waits on the tables' lock.
      const drained = h.app.settle();
      const atRelease = await hold.released;
      assert.equal(atRelease[0]?.position ?? 0, 0, 'nothing committed while the lock was held');
      await drained;
      assert.equal(await h.app.store.cursors.get('processor'), 1, 'processed once the lock was released');
      assert.deepEqual(await h.app.store.quarantine.list(), [], 'never quarantined');
      const p = await h.app.store.identity.findProfile({ kind: 'userId', value: 'locked' });
      assert.ok((await h.app.store.audiences.members('purchased_7d')).some((m) => m.profileId === p?.id));
    } finally {
      await raw.close();
      await h.close();
    }
  });
});
