// Large change sets reach Cordial as import jobs whose file Handoff serves: a first sync, a mass
// exit and an exit racing a job in flight, under 5xx, 429, a failed job and rejected rows.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { harness, sequentialIds, testConfig } from '../helpers/harness.ts';
import { rmSync } from 'node:fs';
import { openApp } from '../../src/app/app.ts';
import { buildServer } from '../../src/server/server.ts';
import { serverServices } from '../../src/app/services.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';
import {
  N,
  T0,
  bulkSteps,
  bulkSync,
  email,
  purchases,
  range,
  seedContacts,
  shoppers,
} from '../helpers/bulk-scenario.ts';

const clock = new ManualClock(T0);
const SYNC = bulkSync(clock);

let fake: FakeCordial;
let h: Harness;
let port: number;
const env = (): Record<string, string> => ({ CORDIAL_KEY: fake.apiKey });
const extra = (p: number) =>
  stringify({
    destinations: {
      cordial: {
        baseUrl: fake.baseUrl,
        apiKey: { env: 'CORDIAL_KEY' },
        rateLimit: 1000,
        bulk: { publicBaseUrl: `http://127.0.0.1:${p}`, threshold: 300, pollInterval: '1s', splitBelow: 8 },
      },
    },
    audiences: CART_AND_PURCHASERS,
  });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

before(async () => {
  fake = await startFakeCordial({ now: () => clock.now() });
});
after(() => fake.close());

beforeEach(async () => {
  fake.reset();
  clock.set(T0);
  fake.imports.set({ rowsPerSecond: 500, scheduledMs: 0 });
  seedContacts(fake);
  port = await freePort();
  h = await harness({ clock, newProfileId: sequentialIds(), extra: extra(port), env: env(), sync: SYNC });
  await h.server.listen({ port, host: '127.0.0.1' });
});
afterEach(() => h.close());

const { ingest, converge, members, assertStatusesKept } = bulkSteps({ clock, fake: () => fake, h: () => h });

const contactCalls = () => fake.requests.filter((r) => r.path.startsWith('/v2/contacts')).length;

describe('bulk import jobs', () => {
  test('a large first sync and a large exit converge through jobs, under faults, statuses untouched', async () => {
    fake.faults.set({ status: { 503: 0.05, 429: 0.05 }, seed: 11 });
    fake.imports.set({
      rowsPerSecond: 500,
      scheduledMs: 0,
      failNextJobs: 1,
      rejectValues: [email(1), email(2)],
    });
    await ingest(shoppers(range(0, N)));
    await converge();
    assert.deepEqual(fake.listMembers('cart-0-4h'), await members('cart_0_4h'));
    assert.equal((await members('cart_0_4h')).length, N);
    assert.ok(fake.imports.jobs().length >= 2, 'a failed job and the jobs after it');
    assert.ok(contactCalls() < N / 4, `${contactCalls()} per-contact calls for ${N} members`);
    assertStatusesKept();

    // Everyone buys: a large exit from the cart list and a large entry to the purchasers list.
    fake.imports.set({ rowsPerSecond: 500, scheduledMs: 0 });
    await ingest(purchases(range(0, N)));
    await converge();
    assert.deepEqual(fake.listMembers('cart-0-4h'), []);
    assert.deepEqual(fake.listMembers('purchased-7d'), await members('purchased_7d'));
    assert.equal((await h.app.store.sync.deadLetters('cordial')).length, 0);
    assertStatusesKept();
  });

  test('changes to pairs a job carries wait for it, so the newest state wins', async () => {
    await ingest(shoppers(range(0, N)));
    const sync = h.app.sync!;
    await h.app.processor.drain();
    while ((await sync.worker.pull()) > 0);
    await sync.worker.sendDue();
    await sync.bulk!.step();
    const [job] = await h.app.store.bulk.active('cordial');
    assert.equal(job?.state, 'running', 'the job was accepted and is in flight');
    // Half the members buy while the job that adds them is still running.
    await ingest(purchases(range(0, N / 2)));
    await converge();
    assert.deepEqual(fake.listMembers('cart-0-4h'), await members('cart_0_4h'));
    assert.equal((await members('cart_0_4h')).length, N / 2);
    assertStatusesKept();
  });

  test('a restart resumes polling the job it had started, importing nothing twice', async () => {
    fake.imports.set({ rowsPerSecond: 50, scheduledMs: 0 });
    await ingest(shoppers(range(0, N)));
    const sync = h.app.sync!;
    await h.app.processor.drain();
    while ((await sync.worker.pull()) > 0);
    await sync.worker.sendDue();
    await sync.bulk!.step();
    const imports = () => fake.requests.filter((r) => r.path === '/v2/contactimports').length;
    assert.equal(imports(), 1);
    // Cordial has fetched the file and is working through it when the process stops.
    while (fake.imports.jobs().some((j) => j.status === 'Scheduled'))
      await new Promise((r) => setTimeout(r, 5));
    assert.equal(fake.imports.jobs()[0]?.status, 'Processing');
    // A new process opens the same database.
    await h.server.close();
    await h.app.stop();
    const app = await openApp({ config: testConfig(h.storage, extra(port), env()), clock, sync: SYNC });
    const server = buildServer(serverServices(app));
    h = {
      ...h,
      app,
      server,
      close: async () => (
        await server.close(),
        await app.stop(),
        await h.storage.drop(),
        rmSync(h.dir, { recursive: true, force: true })
      ),
    };
    await server.listen({ port, host: '127.0.0.1' });
    await converge();
    const names = fake.requests
      .filter((r) => r.path === '/v2/contactimports')
      .map((r) => (r.body as { importName: string }).importName);
    assert.equal(new Set(names).size, names.length, 'no job was imported twice');
    const [first] = await app.store.bulk.recent('cordial', 1_000).then((jobs) => jobs.slice(-1));
    assert.equal(first?.state, 'done', 'the job started before the restart was polled to its end');
    assert.deepEqual(fake.listMembers('cart-0-4h'), await members('cart_0_4h'));
    assert.equal((await members('cart_0_4h')).length, N);
  });
});
