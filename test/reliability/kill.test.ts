// `kill -9` of a loaded `handoff serve`, ten times, each time restarted on the same database, while
// four clients send batches with unique messageIds and retry each batch until it is acknowledged
// (as Segment's clients do). Every acknowledged message must be stored exactly once, and audience
// processing must catch up with the log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Served } from '../helpers/serve-process.ts';
import { kill9, metric, startServe, stopAll, stopServe, waitFor } from '../helpers/serve-process.ts';
import { rawSql } from '../helpers/store.ts';
import type { ClientTotals } from './cluster-load.ts';
import { deliver, newTotals } from './cluster-load.ts';
import type { Setup } from './setup.ts';
import { AUDIENCES, SECRETS, setUp } from './setup.ts';

const KILLS = 10;
const CLIENTS = 4;
const PER_BATCH = 25;
const EVENTS = ['Product Added', 'Order Completed', 'Product Viewed'] as const;

let setup: Setup;
let served: Served | undefined;
const log = (line: string) => process.stdout.write(`${line}\n`);

before(async () => {
  setup = await setUp('kill');
});
after(async () => {
  await stopAll();
  await setup?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that sends batches until told to stop, retrying each until a 200. */
async function client(id: number, running: () => boolean, totals: ClientTotals): Promise<void> {
  for (let b = 0; running(); b++) {
    const batch = Array.from({ length: PER_BATCH }, (_, i) => ({
      type: 'track',
      messageId: `kill-${id}-${b}-${i}`,
      userId: `kill-u-${(b * PER_BATCH + i) % 500}`,
      event: EVENTS[(b + i) % EVENTS.length],
      properties: { price: 10 + i, revenue: 20 + i },
    }));
    await deliver(
      { address: () => (served?.alive() ? served.address : undefined), totals, timeoutMs: 30_000 },
      batch,
    );
  }
}

describe(`kill -9 of serve ${KILLS} times under ${CLIENTS} clients`, () => {
  const totals = newTotals();
  let kills = 0;

  test('ten kills, each followed by a restart on the same database', async () => {
    served = await startServe(setup.configFile, setup.env);
    let running = true;
    const clients = Array.from({ length: CLIENTS }, (_, id) => client(id, () => running, totals));
    try {
      for (kills = 0; kills < KILLS;) {
        const acknowledgedAtStart = totals.acknowledged.size;
        await sleep(800 + Math.random() * 1200);
        await kill9(served);
        kills++;
        log(
          `kill ${kills}: ${totals.acknowledged.size} messages acknowledged so far (${totals.acknowledged.size - acknowledgedAtStart} since the last start)`,
        );
        served = await startServe(setup.configFile, setup.env);
      }
      await sleep(1_000);
    } finally {
      running = false;
      await Promise.all(clients);
    }
    log(
      `${kills} kills; ${totals.batches} batches, ${totals.attempts} attempts, ${totals.acknowledged.size} messages acknowledged`,
    );
    assert.equal(kills, KILLS);
    assert.deepEqual(totals.refused, [], 'valid batches were refused');
  });

  test('audience processing catches up (processor lag 0)', async () => {
    const last = served;
    assert.ok(last !== undefined && last.alive(), 'serve is not running after the last restart');
    const caughtUp = await waitFor(
      async () => (await metric(last.address, SECRETS.adminToken, 'handoff_processor_lag_events')) === 0,
      90_000,
      250,
    );
    const lag = await metric(last.address, SECRETS.adminToken, 'handoff_processor_lag_events').catch(
      () => undefined,
    );
    assert.ok(caughtUp, `processor lag still ${lag} events 90 s after the last restart`);
  });

  test('every acknowledged message is stored exactly once, and the processor cursor is at the head', async () => {
    if (served) {
      const stopped = await stopServe(served, 30_000);
      assert.ok(!stopped.timedOut, 'serve did not stop within 30 s of SIGTERM');
    }
    const db = rawSql(setup.storage);
    try {
      const stored = new Map(
        (
          await db.query<{ message_id: string; n: number }>(
            "SELECT message_id, count(*) AS n FROM events WHERE source_id = 'web' GROUP BY message_id",
          )
        ).map((r) => [r.message_id, r.n]),
      );
      const missing = [...totals.acknowledged].filter((id) => !stored.has(id));
      const repeated = [...stored].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
      const [max] = await db.query<{ head: number | null }>('SELECT max(seq) AS head FROM events');
      const head = max?.head ?? 0;
      const [row] = await db.query<{ position: number }>(
        "SELECT position FROM cursors WHERE name = 'processor'",
      );
      const cursor = row?.position;
      log(
        `stored: ${stored.size} messages (${totals.acknowledged.size} acknowledged); log head ${head}, processor cursor ${cursor}`,
      );
      assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged messages are not stored`);
      assert.deepEqual(repeated.slice(0, 20), [], `${repeated.length} messages are stored more than once`);
      assert.equal(cursor, head, 'the processor cursor is not at the head of the log');
    } finally {
      await db.close();
    }
  });

  test('the cart audience holds exactly who a recompute from the log says', async () => {
    // Member iff the last Product Added (within 4h: the whole test) is later than the last Order
    // Completed; events are stamped with their receive time, read back from the log.
    const db = rawSql(setup.storage);
    try {
      const last = await db.query<{ user_id: string; added: number | null; ordered: number | null }>(
        `SELECT user_id,
                  max(CASE WHEN name = 'Product Added' THEN ts END) AS added,
                  max(CASE WHEN name = 'Order Completed' THEN ts END) AS ordered
           FROM events WHERE source_id = 'web' AND user_id LIKE 'kill-u-%' GROUP BY user_id`,
      );
      const expected = last
        .filter((u) => u.added !== null && (u.ordered === null || u.ordered < u.added))
        .map((u) => u.user_id)
        .sort();
      const members = (
        await db.query<{ value: string }>(
          `SELECT i.value FROM memberships m JOIN identifiers i ON i.profile_id = m.profile_id AND i.kind = 'userId'
           WHERE m.audience = ? ORDER BY i.value`,
          AUDIENCES.cart,
        )
      ).map((r) => r.value);
      log(`${AUDIENCES.cart}: ${members.length} members, ${expected.length} expected from the log`);
      assert.deepEqual(members, expected);
    } finally {
      await db.close();
    }
  });
});
