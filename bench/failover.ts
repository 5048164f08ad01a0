/**
 * `npm run bench:failover [-- --kills 10 --freezes 3]`
 *
 * How long a job stops when the process running it dies, with three real `handoff serve` processes
 * on a fresh schema of the PostgreSQL database at HANDOFF_TEST_DATABASE_URL (default: the local
 * server's `test` database), four clients sending shoppers round-robin and the fake Cordial account
 * receiving the cart list (each process with its own API key, so the fake's log says who sent what).
 *
 * 1. `--kills N` times: `kill -9` of the process holding one lease (processor, sync:cordial and
 *    monitor in turn; a process usually holds several, and each of them counts), restarted at once.
 *    For each, from the kill: when the lease lapsed (its expiry by the database's clock), when
 *    another process held every lease the victim held (a new epoch in `GET /api/admin/cluster`),
 *    and when work resumed: the processor cursor moving past where it stood, a Cordial request by
 *    another process.
 * 2. Baseline, same run: the lease TTL and retry interval the processes run with (a failover cannot
 *    be shorter than the TTL left at the kill, and should not be longer than TTL + retry).
 * 3. `--freezes N` times: SIGSTOP of the Cordial sender while it has a backlog, past its TTL; once
 *    another process holds its leases, SIGCONT, and 3 s later: the requests the woken process sent
 *    (must be 0) and whether any lease went back to it (must not). Exit status 1 when either fails
 *    or a failover did not happen within 30 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { DEFAULT_LEASE_TIMING } from '../src/shared/leases.ts';
import { startFakeCordial } from '../test/fakes/cordial/index.ts';
import { CART_AND_PURCHASERS } from '../test/helpers/cordial-audiences.ts';
import type { LeaseView } from '../test/helpers/serve-fleet.ts';
import { ServeFleet } from '../test/helpers/serve-fleet.ts';
import { rawSql, storeEnv, testStorage } from '../test/helpers/store.ts';
import { client, newTotals } from '../test/reliability/cluster-load.ts';
import { SECRETS } from '../test/reliability/setup.ts';
import { freezeRuns } from './failover/freeze.ts';
import { benchArgs, count, sleep, wall } from './lib.ts';

const JOBS = ['processor', 'sync:cordial', 'monitor'] as const;
const KEYS = ['failover-key-0', 'failover-key-1', 'failover-key-2'];
const WAIT_MS = 30_000;

interface Kill {
  lease: string;
  held: string[];
  /** ms after the kill: the victim's leases lapsed (latest expiry), all held elsewhere, work seen. */
  lapsed: number;
  takenOver: number;
  processorMoved: number | undefined;
  cordialSent: number | undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const stats = (xs: number[]) => `max ${Math.round(Math.max(...xs))} ms, median ${Math.round(median(xs))} ms`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: benchArgs(),
    options: { kills: { type: 'string', default: '10' }, freezes: { type: 'string', default: '3' } },
  });
  const kills = count('kills', values.kills);
  const freezes = values.freezes === '0' ? 0 : count('freezes', values.freezes);
  process.env.HANDOFF_TEST_STORE = 'postgres';
  const { ttlMs, retryMs, marginMs } = DEFAULT_LEASE_TIMING;
  console.log(
    `handoff failover benchmark: 3 serve processes on PostgreSQL, ${kills} kills, ${freezes} freezes; load average ${loadavg()[0]!.toFixed(1)}`,
  );
  console.log(
    `baseline: lease TTL ${ttlMs} ms, renewed every ${Math.floor(ttlMs / 3)} ms, others retry every ${retryMs} ms, a holder stops trusting its lease ${ttlMs - marginMs} ms after its last renew began: failover ≤ TTL + retry = ${ttlMs + retryMs} ms`,
  );

  const fake = await startFakeCordial({ apiKeys: KEYS, rateLimit: { perSecond: 50 } });
  const dir = mkdtempSync(join(tmpdir(), 'handoff-failover-'));
  const storage = testStorage(dir);
  const configFile = join(dir, 'handoff.yaml');
  writeFileSync(
    configFile,
    stringify({
      server: { adminToken: { env: 'FO_ADMIN_TOKEN' } },
      storage: storage.section,
      sources: [{ id: 'web', writeKey: { env: 'FO_WEB_KEY' } }],
      destinations: {
        cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'FO_CORDIAL_KEY' }, rateLimit: 50, concurrency: 2 },
      },
      audiences: CART_AND_PURCHASERS,
    }),
  );
  const fleet = new ServeFleet({
    configFile,
    size: 3,
    adminToken: SECRETS.adminToken,
    env: (slot) => ({
      ...storeEnv(),
      FO_ADMIN_TOKEN: SECRETS.adminToken,
      FO_WEB_KEY: SECRETS.writeKey,
      FO_CORDIAL_KEY: KEYS[slot]!,
    }),
  });
  const db = rawSql(storage);
  let running = true;
  const totals = newTotals();
  const clients: Promise<void>[] = [];
  let failed = false;
  try {
    await fleet.startAll();
    for (let id = 0; id < 4; id++)
      clients.push(
        client({
          id,
          users: 200,
          perBatch: 20,
          everyMs: 250,
          address: () => fleet.nextAddress(),
          running: () => running,
          totals,
        }),
      );
    const cursor = async () =>
      Number(
        (await db.query<{ p: string }>("SELECT position AS p FROM cursors WHERE name = 'processor'"))[0]?.p ??
          0,
      );
    const results: Kill[] = [];
    await sleep(3_000);
    const restarts: Promise<unknown>[] = [];
    for (let k = 0; k < kills; k++) {
      // Killed only while another process is up to take over; the victim restarts meanwhile.
      while (fleet.upSlots().length < 2) await sleep(250);
      const lease = JOBS[k % JOBS.length]!;
      const leases = (await fleet.leases()) ?? [];
      const target = leases.find((l) => l.name === lease && !l.expired);
      const slot = target && fleet.slotOf(target);
      if (target === undefined || slot === undefined) {
        console.log(`kill ${k + 1}: nobody holds ${lease} now; waiting`);
        await sleep(2_000);
        k--;
        continue;
      }
      const held = leases.filter((l) => !l.expired && l.holder === target.holder);
      const at = { wall: wall(), cursor: await cursor(), requests: fake.requests.length };
      const killedAt = performance.now();
      await fleet.kill(slot);
      restarts.push(fleet.start(slot));
      const since = () => Math.round(performance.now() - killedAt);
      const sent = waitUntil(
        () =>
          fake.requests
            .slice(at.requests)
            .some(
              (r) => r.headers.authorization !== `Basic ${Buffer.from(`${KEYS[slot]}:`).toString('base64')}`,
            ),
        since,
      );
      const moved = held.some((l) => l.name === 'processor')
        ? waitUntil(async () => (await cursor()) > at.cursor, since)
        : Promise.resolve(undefined);
      const taken = await fleet.takenOver(
        held.map((l) => l.name),
        target.holder,
        WAIT_MS,
        50,
      );
      const takenOver = taken ? since() : Infinity;
      const result: Kill = {
        lease,
        held: held.map((l) => l.name),
        lapsed: Math.round(Math.max(...held.map((l) => l.expiresAt)) - at.wall),
        takenOver,
        processorMoved: await moved,
        cordialSent: held.some((l) => l.name === 'sync:cordial') ? await sent : undefined,
      };
      results.push(result);
      console.log(
        `kill ${k + 1} (holder of ${lease}): held ${result.held.join(', ')}; lapsed +${result.lapsed} ms; ` +
          (taken
            ? `all held elsewhere +${takenOver} ms (${describe(taken)})`
            : `NOT taken over in ${WAIT_MS} ms`) +
          (result.processorMoved !== undefined
            ? `; processor cursor moving +${result.processorMoved} ms`
            : '') +
          (result.cordialSent !== undefined
            ? `; first Cordial request by another process +${result.cordialSent} ms`
            : ''),
      );
      if (!taken) failed = true;
      await sleep(2_000);
    }
    await Promise.all(restarts);
    const times = results.map((r) => r.takenOver);
    const work = results.flatMap((r) => [r.processorMoved, r.cordialSent]).filter((x) => x !== undefined);
    console.log(
      `\nfailover over ${results.length} kills -9: every lease held elsewhere ${stats(times)}; work resumed ${stats(work)}; lease lapsed after the kill ${stats(results.map((r) => r.lapsed))}`,
    );
    console.log(`baseline: TTL ${ttlMs} ms (+ retry ${retryMs} ms = ${ttlMs + retryMs} ms)`);

    const frozen = await freezeRuns(fleet, fake, freezes, KEYS);
    if (!frozen) failed = true;
    console.log(
      `| failover, 3 serves on PostgreSQL, kill -9 of a lease holder | \`npm run bench:failover -- --kills ${kills}\` | every lease held by another process: ${stats(times)} over ${results.length} kills; work resumed ${stats(work)} | lease TTL ${ttlMs} ms + retry ${retryMs} ms | ≤ 10 s |`,
    );
    console.log(
      JSON.stringify({
        bench: 'failover',
        kills: results,
        ttlMs,
        retryMs,
        acknowledged: totals.acknowledged.size,
      }),
    );
  } finally {
    running = false;
    await Promise.all(clients);
    await fleet.stopAll();
    await db.close();
    await fake.close();
    await storage.drop();
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

const describe = (leases: LeaseView[]) => leases.map((l) => `${l.name}@${l.epoch}`).join(', ');

/** Polls `check` every 50 ms for up to 30 s: `since()` when it first held, undefined if never. */
async function waitUntil(
  check: () => boolean | Promise<boolean>,
  since: () => number,
): Promise<number | undefined> {
  const deadline = performance.now() + WAIT_MS;
  while (performance.now() < deadline) {
    if (await Promise.resolve(check()).catch(() => false)) return since();
    await sleep(50);
  }
  return undefined;
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
