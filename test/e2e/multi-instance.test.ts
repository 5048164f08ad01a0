// @postgres-only: several serve processes share one database, which is a PostgreSQL deployment.
//
// Several `handoff serve` processes on one PostgreSQL schema: each background job runs in exactly
// one of them (the holder of its lease), every change reaches Cordial once, a holder killed with
// SIGKILL is replaced within the lease's TTL plus a retry, and a holder frozen with SIGSTOP past
// its TTL sends nothing once it wakes. Each process calls Cordial with its own API key, so the
// fake's log says which process sent what.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial, RecordedRequest } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { basic } from '../helpers/harness.ts';
import { runCli } from '../helpers/cli.ts';
import type { Served } from '../helpers/serve-process.ts';
import { kill9, metric, startServe, stopAll, waitFor } from '../helpers/serve-process.ts';
import type { TestStorage } from '../helpers/store.ts';
import { testStorage, testStoreKind } from '../helpers/store.ts';
import type { Lease } from '../../src/shared/leases.ts';
import { cartAudience } from '../helpers/cordial-audiences.ts';

const WRITE_KEY = 'multi-web-key-0123';
const ADMIN_TOKEN = 'multi-admin-token-0123';
const LIST = 'cart-0-4h';
const KEYS = ['cordial-key-a', 'cordial-key-b', 'cordial-key-c'];
const JOBS = ['monitor', 'processor', 'sync:cordial'];

if (testStoreKind() !== 'postgres') {
  // Several processes on one SQLite file is not a supported deployment; the run's PostgreSQL pass runs this file.
  console.log(
    '# multi-instance: PostgreSQL only (several serve processes share one database); nothing registered on SQLite',
  );
} else {
  describe('several serve processes on one PostgreSQL schema', () => {
    let dir: string;
    let storage: TestStorage;
    let fake: FakeCordial;
    let configFile: string;
    const processes: { served: Served; key: string }[] = [];

    before(async () => {
      fake = await startFakeCordial({ apiKeys: KEYS });
      dir = mkdtempSync(join(tmpdir(), 'handoff-multi-'));
      storage = testStorage(dir);
      configFile = join(dir, 'handoff.yaml');
      writeFileSync(
        configFile,
        stringify({
          server: { adminToken: { env: 'MULTI_ADMIN_TOKEN' } },
          storage: storage.section,
          sources: [{ id: 'web', writeKey: { env: 'MULTI_WEB_KEY' } }],
          destinations: {
            cordial: {
              baseUrl: fake.baseUrl,
              apiKey: { env: 'MULTI_CORDIAL_KEY' },
              rateLimit: 20,
              concurrency: 2,
            },
          },
          audiences: [cartAudience(LIST)],
        }),
      );
      // One at a time: the first applies the migrations and records the definitions.
      for (const key of KEYS) {
        const served = await startServe(
          configFile,
          { MULTI_WEB_KEY: WRITE_KEY, MULTI_ADMIN_TOKEN: ADMIN_TOKEN, MULTI_CORDIAL_KEY: key },
          { timeoutMs: 60_000 },
        );
        processes.push({ served, key });
      }
    });

    after(async () => {
      for (const { served } of processes) if (served.alive()) served.child.kill('SIGCONT');
      await stopAll();
      await fake?.close();
      await storage?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const leases = async (): Promise<Lease[]> => {
      const store = await storage.open();
      try {
        return await store.leases.list();
      } finally {
        await store.close();
      }
    };
    const pidOf = (lease: Lease): number => Number(lease.holder.split(':').at(-2));
    const byPid = (pid: number) => processes.find((p) => p.served.child.pid === pid);
    /** The process holding `job` now (a live, unexpired lease of a process this test started). */
    const holderOf = async (job: string) => {
      const lease = (await leases()).find((l) => l.name === job && !l.expired);
      return lease && byPid(pidOf(lease));
    };
    /** Whether every job's lease is held, unexpired, by a process other than `not`. */
    const allHeldBesides = async (not: number | undefined): Promise<boolean> => {
      const held = (await leases()).filter((l) => !l.expired && pidOf(l) !== not);
      return JOBS.every((job) => held.some((l) => l.name === job));
    };

    let next = 0;
    /** Sends `count` new shoppers, each adding to cart once, through `via`; their emails. */
    async function shoppers(via: Served, count: number): Promise<string[]> {
      const emails: string[] = [];
      const batch = [];
      for (let i = 0; i < count; i++, next++) {
        const email = `multi${next}@example.com`;
        emails.push(email);
        batch.push(
          { type: 'identify', userId: `m-${next}`, traits: { email }, messageId: `id-${next}` },
          { type: 'track', userId: `m-${next}`, event: 'Product Added', messageId: `add-${next}` },
        );
      }
      const res = await fetch(`${via.address}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY) },
        body: JSON.stringify({ batch }),
      });
      assert.equal(res.status, 200, await res.text());
      return emails;
    }

    /** The email a request put on (or took off) a list, for contact writes that succeeded. */
    const emailOf = (r: RecordedRequest): string | undefined => {
      if (r.status === null || r.status >= 300) return undefined;
      if (r.method === 'PUT') return /\/contacts\/email:(.+)$/.exec(decodeURIComponent(r.path))?.[1];
      if (r.method === 'POST' && r.path.endsWith('/contacts')) {
        const body = r.body as { channels?: { email?: { address?: string } } };
        return body.channels?.email?.address;
      }
      return undefined;
    };
    const writesOf = (email: string): RecordedRequest[] => fake.requests.filter((r) => emailOf(r) === email);
    const sender = (r: RecordedRequest) => processes.find((p) => r.headers.authorization === basic(p.key));
    const listed = (emails: readonly string[]) => {
      const members = fake.lists().some((l) => l.name === LIST) ? new Set(fake.listMembers(LIST)) : new Set();
      return emails.every((e) => members.has(e));
    };

    test('each job runs in exactly one process, and each change reaches Cordial once', async () => {
      assert.ok(await waitFor(() => allHeldBesides(undefined), 30_000), JSON.stringify(await leases()));
      const held = await leases();
      assert.deepEqual(
        held.map((l) => l.name),
        JOBS,
      );
      for (const l of held)
        assert.ok(byPid(pidOf(l)), `${l.name} is held by a process of this test: ${l.holder}`);
      // handoff_lease_held is 1 only in the process holding the job: summed over processes, one per job.
      let sum = 0;
      for (const { served } of processes)
        sum += (await metric(served.address, ADMIN_TOKEN, 'handoff_lease_held')) ?? NaN;
      assert.equal(sum, JOBS.length);
      const emails = await shoppers(processes[1]!.served, 30);
      assert.ok(
        await waitFor(() => Promise.resolve(listed(emails)), 60_000),
        'every shopper reached the list',
      );
      for (const email of emails) assert.equal(writesOf(email).length, 1, `${email} was written once`);
      // Only the holder of the Cordial sync lease sent.
      const syncHolder = await holderOf('sync:cordial');
      assert.ok(
        fake.requests.every((r) => sender(r) === syncHolder),
        'one process sent everything',
      );
    });

    test('a command beside the serves refuses a job a serve holds, naming the holder; processing is left to the serve holding it', async () => {
      const env = { MULTI_WEB_KEY: WRITE_KEY, MULTI_ADMIN_TOKEN: ADMIN_TOKEN, MULTI_CORDIAL_KEY: KEYS[0]! };
      const holder = (await leases()).find((l) => l.name === 'sync:cordial')!.holder;
      const flush = await runCli(configFile, env, 'sync', 'flush');
      assert.equal(flush.code, 2, flush.out + flush.err);
      assert.equal(flush.err.split('\n').length, 1, flush.err);
      assert.ok(
        flush.err.startsWith('handoff sync flush: the sync:cordial job runs in another process'),
        flush.err,
      );
      assert.ok(flush.err.includes(holder), flush.err);
      // Marked for retry, the quarantine is processed by the serve holding the processor lease.
      const retry = await runCli(configFile, env, 'events', 'quarantine', 'retry', '--all');
      assert.match(retry.out, /the processor job runs in another process .*: it processes them/);
    });

    test('kill -9 of the lease holder: another process takes every job over within the TTL and a retry', async () => {
      const victim = (await holderOf('processor'))!;
      const pid = victim.served.child.pid!;
      const killedAt = performance.now();
      await kill9(victim.served);
      assert.ok(await waitFor(() => allHeldBesides(pid), 30_000, 50), JSON.stringify(await leases()));
      const ms = Math.round(performance.now() - killedAt);
      console.log(`# failover after kill -9: every job held by another process ${ms} ms after the kill`);
      const alive = processes.find((p) => p.served.alive())!;
      const emails = await shoppers(alive.served, 30);
      assert.ok(
        await waitFor(() => Promise.resolve(listed(emails)), 60_000),
        'every shopper reached the list',
      );
      for (const email of emails) assert.equal(writesOf(email).length, 1, `${email} was written once`);
    });

    test('SIGSTOP the sender past its TTL: another takes over; woken with SIGCONT it sends and writes nothing more', async () => {
      // Slow answers keep the sender busy with a backlog when it is frozen.
      fake.faults.set({ latencyMs: 100 });
      const frozen = (await holderOf('sync:cordial'))!;
      const pid = frozen.served.child.pid!;
      const via = processes.find((p) => p.served.alive() && p !== frozen)!;
      const before = fake.requests.length;
      const emails = await shoppers(via.served, 80);
      assert.ok(
        await waitFor(
          () => Promise.resolve(fake.requests.slice(before).filter((r) => sender(r) === frozen).length >= 5),
          60_000,
          20,
        ),
        'the holder is sending',
      );
      frozen.served.child.kill('SIGSTOP');
      const stoppedAt = performance.now();
      assert.ok(await waitFor(() => allHeldBesides(pid), 30_000, 50), JSON.stringify(await leases()));
      console.log(
        `# failover after SIGSTOP: every job held by another process ${Math.round(performance.now() - stoppedAt)} ms after the stop`,
      );
      const epochs = await leases();
      const wokenAt = Date.now();
      frozen.served.child.kill('SIGCONT');
      const more = await shoppers(via.served, 20);
      assert.ok(
        await waitFor(() => Promise.resolve(listed([...emails, ...more])), 120_000),
        'every shopper reached the list',
      );
      // Time for the woken process's timers to run, and for it to notice its leases are gone.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const late = fake.requests.filter((r) => sender(r) === frozen && r.at >= wokenAt);
      assert.deepEqual(
        late.map((r) => `${r.method} ${r.path}`),
        [],
        `the woken process sent nothing:\n${frozen.served.output().slice(-3000)}`,
      );
      assert.match(frozen.served.output(), /lost the sync:cordial lease/);
      // Nobody took the leases back from the new holders: the woken process wrote no lease either.
      const now = await leases();
      for (const l of epochs.filter((l) => !l.expired && pidOf(l) !== pid))
        assert.equal(now.find((n) => n.name === l.name)?.epoch, l.epoch, `${l.name} kept its epoch`);
      // Shoppers the frozen process did not have in flight were written exactly once.
      for (const email of more) assert.equal(writesOf(email).length, 1, `${email} was written once`);
      for (const email of emails) {
        const writes = writesOf(email);
        if (writes.length > 1)
          assert.ok(
            writes.some((w) => sender(w) === frozen && w.at < wokenAt),
            `${email}: written twice only when the frozen process had sent it before it froze`,
          );
      }
      fake.faults.clear();
    });
  });
}
