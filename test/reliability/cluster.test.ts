// @postgres-only: several serve processes share one database, which is a PostgreSQL deployment.
//
// Three `handoff serve` processes on one PostgreSQL schema while four Segment-style clients spread
// batches over them (retrying on another process after a connection error or a 5xx), and a random
// process is killed with `kill -9` every 3–6 s (while another is up to take its leases over) and
// restarted, ten times; half the victims are chosen as the holder of a lease read from
// `GET /api/admin/cluster`. The fake Cordial account limits the rate
// and fails some requests (429 with Retry-After, 500, 503). At the end every acknowledged event is
// stored once, each audience equals a recompute from the stored log, each Cordial list equals its
// audience, nothing was sent inside a Retry-After wait nor past the account's rate, and each
// failover took at most 10 s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { prng } from '../../src/shared/prng.ts';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';
import { ServeFleet } from '../helpers/serve-fleet.ts';
import { waitFor } from '../helpers/serve-process.ts';
import type { TestStorage } from '../helpers/store.ts';
import { rawSql, storeEnv, testStorage, testStoreKind } from '../helpers/store.ts';
import type { ClientTotals } from './cluster-load.ts';
import { client, emailOf, newTotals } from './cluster-load.ts';
import { SECRETS } from './setup.ts';
import type { Failover } from './cluster-checks.ts';
import { expectedMembers, failoverSummary, members, rateReport, syncTrail } from './cluster-checks.ts';

const PROCESSES = 3;
const CLIENTS = 4;
const KILLS = 10;
/** Kills that must hit a lease holder (so that failover is measured more than once or twice). */
const HOLDER_KILLS = 3;
/** The kill phase ends after KILLS kills, or after this long when restarts are slow (a loaded machine). */
const KILL_PHASE_MS = 180_000;
const FAILOVER_LIMIT_MS = 10_000;
/** Requests a second the fake account allows, and Handoff's `rateLimit`. */
const RATE = 30;
const KEYS = ['cluster-cordial-key-0', 'cluster-cordial-key-1', 'cluster-cordial-key-2'];
const LISTS = { cart_0_4h: 'cart-0-4h', purchased_7d: 'purchased-7d' } as const;
const log = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (testStoreKind() !== 'postgres') {
  log(
    '# cluster: PostgreSQL only (several serve processes share one database); nothing registered on SQLite',
  );
} else {
  describe(`${PROCESSES} serve processes on one PostgreSQL schema, kill -9 every 3–6 s`, () => {
    let dir: string;
    let storage: TestStorage;
    let fake: FakeCordial;
    let fleet: ServeFleet;
    const totals: ClientTotals = newTotals();
    const failovers: Failover[] = [];

    before(async () => {
      fake = await startFakeCordial({ apiKeys: KEYS, rateLimit: { perSecond: RATE } });
      fake.faults.set({ status: { 429: 0.02, 500: 0.02, 503: 0.02 }, seed: 11 });
      dir = mkdtempSync(join(tmpdir(), 'handoff-cluster-'));
      storage = testStorage(dir);
      const configFile = join(dir, 'handoff.yaml');
      writeFileSync(
        configFile,
        stringify({
          server: { adminToken: { env: 'CLUSTER_ADMIN_TOKEN' } },
          storage: storage.section,
          sources: [{ id: 'web', writeKey: { env: 'CLUSTER_WEB_KEY' } }],
          destinations: {
            cordial: {
              baseUrl: fake.baseUrl,
              apiKey: { env: 'CLUSTER_CORDIAL_KEY' },
              rateLimit: RATE,
              // One request in flight: a 429's Retry-After then binds every later request of the process.
              concurrency: 1,
            },
          },
          audiences: CART_AND_PURCHASERS,
        }),
      );
      fleet = new ServeFleet({
        configFile,
        size: PROCESSES,
        adminToken: SECRETS.adminToken,
        env: (slot) => ({
          ...storeEnv(),
          CLUSTER_ADMIN_TOKEN: SECRETS.adminToken,
          CLUSTER_WEB_KEY: SECRETS.writeKey,
          CLUSTER_CORDIAL_KEY: KEYS[slot]!,
        }),
      });
      await fleet.startAll();
    });

    after(async () => {
      await fleet?.stopAll();
      await fake?.close();
      await storage?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('kill -9 of a random process every 3–6 s, restarted, under four round-robin clients', async () => {
      const seed = Date.now() % 1_000_000;
      const random = prng(seed);
      log(`# kill schedule seed ${seed}`);
      let running = true;
      const clients = Array.from({ length: CLIENTS }, (_, id) =>
        client({
          id,
          users: 25,
          perBatch: 10,
          everyMs: 200,
          address: () => fleet.nextAddress(),
          running: () => running,
          totals,
        }),
      );
      const began = performance.now();
      let kills = 0;
      const restarts: Promise<unknown>[] = [];
      try {
        // A process is killed only while another is up to take its leases over; each is restarted at
        // once, and the next kill comes 3–6 s after this one.
        let nextKill = began + 3_000 + random() * 3_000;
        while (kills < KILLS && performance.now() - began < KILL_PHASE_MS) {
          await sleep(Math.max(0, nextKill - performance.now()));
          const up = fleet.upSlots();
          if (up.length < 2) {
            await sleep(250);
            continue;
          }
          const leases = (await fleet.leases()) ?? [];
          const live = leases.filter((l) => !l.expired && fleet.slotOf(l) !== undefined);
          // Half the kills aim at a lease holder; the last ones do whenever fewer than HOLDER_KILLS have.
          const deliberate =
            live.length > 0 && (random() < 0.5 || KILLS - kills <= HOLDER_KILLS - failovers.length);
          const slot = deliberate
            ? fleet.slotOf(live[Math.floor(random() * live.length)]!)!
            : up[Math.floor(random() * up.length)]!;
          const held = live.filter((l) => fleet.slotOf(l) === slot);
          const killedAt = performance.now();
          await fleet.kill(slot);
          const kill = ++kills;
          nextKill = killedAt + 3_000 + random() * 3_000;
          restarts.push(
            fleet
              .start(slot)
              .then(() =>
                log(
                  `  kill ${kill}: slot ${slot} restarted ${Math.round(performance.now() - killedAt)} ms after the kill`,
                ),
              ),
          );
          if (held.length === 0) {
            log(
              `kill ${kill}: slot ${slot}, holding no lease; ${totals.acknowledged.size} messages acknowledged`,
            );
            continue;
          }
          const names = held.map((l) => l.name);
          const taken = await fleet.takenOver(names, held[0]!.holder, 30_000);
          const ms = taken ? Math.round(performance.now() - killedAt) : Infinity;
          failovers.push({ kill, names, ms, to: taken?.map((l) => `${l.name}@${l.epoch}`) ?? [] });
          log(
            `kill ${kill}: slot ${slot}${deliberate ? ' (chosen as a lease holder)' : ''} held ${names.join(', ')}; ` +
              (taken
                ? `taken over in ${ms} ms (${failovers.at(-1)!.to.join(', ')})`
                : 'NOT taken over in 30 s') +
              `; ${totals.acknowledged.size} messages acknowledged`,
          );
        }
        await Promise.all(restarts);
      } finally {
        running = false;
        await Promise.all(clients);
      }
      log(
        `${kills} kills, ${failovers.length} of lease holders; ${totals.batches} batches, ${totals.attempts} attempts (${totals.retried} retried on another process), ${totals.acknowledged.size} messages acknowledged`,
      );
      assert.equal(kills, KILLS, `only ${kills} kills in ${KILL_PHASE_MS / 1000} s`);
      assert.ok(failovers.length >= HOLDER_KILLS, `only ${failovers.length} kills of a lease holder`);
      assert.deepEqual(totals.refused, [], 'valid batches were refused');
    });

    test(`each failover: every lease of the killed holder held by another process within ${FAILOVER_LIMIT_MS / 1000} s`, () => {
      log(failoverSummary(failovers));
      const slow = failovers.filter((f) => !(f.ms <= FAILOVER_LIMIT_MS));
      assert.deepEqual(slow, [], 'failovers slower than the limit');
    });

    test('every acknowledged message is stored exactly once; the processor reaches the head of the log', async () => {
      const db = rawSql(storage);
      try {
        const stored = new Map(
          (
            await db.query<{ message_id: string; n: number }>(
              "SELECT message_id, count(*)::int AS n FROM events WHERE source_id = 'web' GROUP BY message_id",
            )
          ).map((r) => [r.message_id, r.n]),
        );
        const missing = [...totals.acknowledged].filter((id) => !stored.has(id));
        const repeated = [...stored].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`);
        log(`stored: ${stored.size} messages (${totals.acknowledged.size} acknowledged)`);
        assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged messages are not stored`);
        assert.deepEqual(repeated.slice(0, 20), [], `${repeated.length} messages are stored more than once`);
        const head = async () => {
          const [max] = await db.query<{ head: number | null }>('SELECT max(seq)::int AS head FROM events');
          const [row] = await db.query<{ position: number }>(
            "SELECT position::int AS position FROM cursors WHERE name = 'processor'",
          );
          return { head: max?.head ?? 0, cursor: row?.position };
        };
        await waitFor(async () => ((p) => p.cursor === p.head)(await head()), 120_000, 500);
        const at = await head();
        assert.equal(at.cursor, at.head, 'the processor cursor is not at the head of the log');
      } finally {
        await db.close();
      }
    });

    test('each audience equals a recompute from the stored log, and each Cordial list equals its audience', async () => {
      const db = rawSql(storage);
      try {
        const expected = await expectedMembers(db);
        for (const [audience, list] of Object.entries(LISTS)) {
          const want = expected[audience as keyof typeof LISTS];
          const listed = () =>
            fake.lists().some((l) => l.name === list) ? fake.listMembers(list) : ([] as string[]);
          const wantEmails = want.map(emailOf).sort();
          await waitFor(
            async () =>
              JSON.stringify(await members(db, audience)) === JSON.stringify(want) &&
              JSON.stringify(listed()) === JSON.stringify(wantEmails),
            120_000,
            1_000,
          );
          const have = await members(db, audience);
          log(
            `${audience}: ${have.length} members, ${want.length} by the recompute, ${listed().length} on ${list}`,
          );
          assert.deepEqual(have, want, `${audience}: memberships differ from the recompute`);
          const onList = listed();
          const differ = [
            ...onList.filter((e) => !wantEmails.includes(e)),
            ...wantEmails.filter((e) => !onList.includes(e)),
          ];
          if (differ.length > 0)
            log(`${list} differs for ${differ.join(', ')}:\n${await syncTrail(db, fake, differ)}`);
          assert.deepEqual(onList, wantEmails, `${list}: the Cordial list differs from ${audience}`);
        }
      } finally {
        await db.close();
      }
    });

    test(`Cordial: no request inside a Retry-After wait, none past ${RATE} a second`, () => {
      const report = rateReport(fake, RATE);
      log(report.line);
      assert.deepEqual(report.insideRetryAfter, [], 'requests sent inside a Retry-After wait');
      assert.deepEqual(report.refusedByRate, [], `requests past the account's ${RATE} a second`);
      assert.ok(report.injected429 > 0, 'the fake answered some requests 429 with Retry-After');
      assert.ok(report.failed5xx > 0, 'the fake failed some requests with a 5xx');
    });
  });
}
