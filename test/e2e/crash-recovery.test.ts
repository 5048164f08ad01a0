// The D2C scenario through the real `handoff serve` process, killed with SIGKILL mid-sync, twice,
// and restarted on the same database: acknowledged events must survive, and the fake Cordial's
// lists must converge to exactly the audiences' non-held-out members (at-least-once delivery with
// idempotent requests). Real clock throughout; the fake's latency keeps sync slow enough to kill.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { FakeCordial, RecordedRequest } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';
import { WRITE_KEYS, basic, harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/sync/retry-policy.ts';
import type { Store } from '../../src/store/ports.ts';
import type { TestStorage } from '../helpers/store.ts';
import { processCwd, storeEnv, testStorage } from '../helpers/store.ts';

const bin = fileURLToPath(new URL('../../bin/handoff.mjs', import.meta.url));
const WRITE_KEY = 'crash-web-key-0123';
const ADMIN_TOKEN = 'crash-admin-token-0123';
const CART = 'cart-0-4h';
const PURCHASED = 'purchased-7d';
const SHOPPERS = 300;
const LATENCY: [number, number] = [20, 50];

// The shared D2C pair, with 10% of cart abandoners held out.
const audiences = [{ ...CART_AND_PURCHASERS[0]!, holdout: 10 }, CART_AND_PURCHASERS[1]!];

let dir: string;
let storage: TestStorage;
let configFile: string;
let fake: FakeCordial;
const children: ChildProcessWithoutNullStreams[] = [];

before(async () => {
  fake = await startFakeCordial();
  dir = mkdtempSync(join(tmpdir(), 'handoff-crash-'));
  storage = testStorage(dir);
  configFile = join(dir, 'handoff.yaml');
  writeFileSync(
    configFile,
    stringify({
      server: { adminToken: { env: 'CRASH_ADMIN_TOKEN' } },
      storage: storage.section,
      sources: [{ id: 'web', writeKey: { env: 'CRASH_WEB_KEY' } }],
      destinations: {
        cordial: {
          baseUrl: fake.baseUrl,
          apiKey: { env: 'CRASH_CORDIAL_KEY' },
          rateLimit: 200,
          concurrency: 4,
        },
      },
      audiences,
    }),
  );
});

after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  }
  await fake?.close();
  await storage?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the server process

interface Served {
  child: ChildProcessWithoutNullStreams;
  address: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startServe(): Promise<Served> {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--config', configFile, '--port', '0', '--host', '127.0.0.1'],
    {
      env: {
        ...process.env,
        ...storeEnv(),
        CRASH_WEB_KEY: WRITE_KEY,
        CRASH_CORDIAL_KEY: fake.apiKey,
        CRASH_ADMIN_TOKEN: ADMIN_TOKEN,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...processCwd(dir),
    },
  );
  children.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within 15 s:\n${output}`)), 15_000);
    const look = () => {
      const match = /"address":"(http:[^"]+)"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout.off('data', look);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return { child, address, output: () => output, exited };
}

async function kill9(served: Served): Promise<void> {
  served.child.kill('SIGKILL');
  const { signal } = await served.exited;
  assert.equal(signal, 'SIGKILL');
}

async function stopGracefully(served: Served): Promise<void> {
  served.child.kill('SIGTERM');
  const result = await Promise.race([
    served.exited,
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref()),
  ]);
  assert.notEqual(result, 'timeout', `serve did not stop within 10 s of SIGTERM:\n${served.output()}`);
  assert.deepEqual(result, { code: 0, signal: null }, served.output());
}

// ---------------------------------------------------------------- the client

/** messageIds the server answered 200 for: acknowledged, so they must be durable. */
const acknowledged = new Set<string>();

async function sendBatches(
  address: string,
  messages: Record<string, unknown>[],
  perBatch = 20,
): Promise<void> {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < messages.length; i += perBatch) batches.push(messages.slice(i, i + perBatch));
  let next = 0;
  const lane = async () => {
    while (next < batches.length) {
      const batch = batches[next++]!;
      const res = await fetch(`${address}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEY) },
        body: JSON.stringify({ batch }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      for (const m of batch) acknowledged.add(m.messageId as string);
    }
  };
  await Promise.all(Array.from({ length: 4 }, lane));
}

const email = (i: number) => `shopper${i}@example.com`;
const userId = (i: number) => `shopper-${i}`;
const shopperMessages = (i: number) => [
  { type: 'identify', userId: userId(i), traits: { email: email(i) }, messageId: `identify-${i}` },
  {
    type: 'track',
    userId: userId(i),
    event: 'Product Added',
    properties: { product_id: 'bundle-01', price: 79 },
    messageId: `added-${i}`,
  },
];
const purchaseMessage = (i: number) => ({
  type: 'track',
  userId: userId(i),
  event: 'Order Completed',
  properties: { order_id: `o-${i}`, revenue: 79 },
  messageId: `purchase-${i}`,
});

// ---------------------------------------------------------------- the database and the fake

async function withStore<T>(work: (store: Store) => Promise<T>): Promise<T> {
  const store = await storage.open();
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

interface Expected {
  /** list → emails of the audience's members that are not held out, sorted. */
  lists: Record<string, string[]>;
  /** list → emails of the members held out of it. */
  heldOut: Record<string, Set<string>>;
  pending: number;
  dead: number;
}

/** What Cordial should hold, per the database. */
const expected = (): Promise<Expected> =>
  withStore(async (store) => {
    const lists: Record<string, string[]> = {};
    const heldOut: Record<string, Set<string>> = {};
    for (const a of audiences) {
      const list = a.destinations[0]!.cordial.list;
      lists[list] = [];
      heldOut[list] = new Set();
      for (const m of await store.audiences.members(a.key)) {
        const profile = await store.identity.getProfile(m.profileId);
        const address = profile?.identifiers.find((i) => i.kind === 'email')?.address;
        assert.ok(address, `member ${m.profileId} of ${a.key} has an email`);
        if (m.heldOut) heldOut[list].add(address);
        else lists[list].push(address);
      }
      lists[list].sort();
    }
    const counts = await store.sync.counts('cordial');
    return {
      lists,
      heldOut,
      pending: counts.reduce((n, c) => n + c.pending, 0),
      dead: counts.reduce((n, c) => n + c.dead, 0),
    };
  });

/** A list's members in the fake; a list Cordial does not have yet has none. */
const listed = (list: string): string[] =>
  fake.lists().some((l) => l.name === list) ? fake.listMembers(list) : [];

const actualLists = (): Record<string, string[]> => ({
  [CART]: listed(CART),
  [PURCHASED]: listed(PURCHASED),
});

function diff(want: Record<string, string[]>, have: Record<string, string[]>): string {
  return Object.keys(want)
    .map((list) => {
      const w = new Set(want[list]);
      const h = new Set(have[list]);
      const missing = [...w].filter((e) => !h.has(e));
      const extra = [...h].filter((e) => !w.has(e));
      return `${list}: ${w.size} expected, ${h.size} in Cordial; missing ${JSON.stringify(missing.slice(0, 10))}${missing.length > 10 ? ` (+${missing.length - 10})` : ''}, extra ${JSON.stringify(extra.slice(0, 10))}${extra.length > 10 ? ` (+${extra.length - 10})` : ''}`;
    })
    .join('\n');
}

const contactRequests = (): RecordedRequest[] =>
  fake.requests.filter((r) => r.path.startsWith('/v2/contacts'));

/** The email a contact request is about: PUT /v2/contacts/email:x, or a POST body's address. */
function requestEmail(r: RecordedRequest): string | undefined {
  if (r.method === 'PUT') {
    const key = decodeURIComponent(r.path.slice('/v2/contacts/'.length));
    return key.startsWith('email:') ? key.slice('email:'.length) : undefined;
  }
  const body = r.body as { channels?: { email?: { address?: string } } } | undefined;
  return body?.channels?.email?.address;
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Until the fake's lists equal the database's expectation. Fails early, with the difference, when
 * the server has nothing left to send and Cordial has not moved for a while: it will not converge.
 */
async function waitForConvergence(timeoutMs: number): Promise<Expected> {
  const deadline = Date.now() + timeoutMs;
  let quietSince = Date.now();
  let lastRequests = fake.requests.length;
  for (;;) {
    const want = await expected();
    const have = actualLists();
    if (want.pending === 0 && JSON.stringify(want.lists) === JSON.stringify(have)) return want;
    if (fake.requests.length !== lastRequests || want.pending > 0) {
      lastRequests = fake.requests.length;
      quietSince = Date.now();
    }
    if (Date.now() - quietSince > 3_000) {
      assert.fail(
        `sync settled (nothing pending, ${want.dead} dead, no request for 3 s) but Cordial differs from the audiences:\n${diff(want.lists, have)}`,
      );
    }
    if (Date.now() > deadline) {
      assert.fail(
        `Cordial did not converge within ${timeoutMs} ms (${want.pending} items pending, ${want.dead} dead):\n${diff(want.lists, have)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

// ---------------------------------------------------------------- the scenario

describe('handoff serve killed with SIGKILL mid-sync', () => {
  test('acknowledged events survive and Cordial converges to the audiences, held-out members never sent', async (t) => {
    const started = Date.now();
    fake.faults.set({ latencyMs: LATENCY, seed: 11 });

    // Run 1: a few hundred shoppers add the bundle to their cart; killed while their contacts are being sent.
    let served = await startServe();
    await sendBatches(served.address, Array.from({ length: SHOPPERS }, (_, i) => shopperMessages(i)).flat());
    // Each new contact costs a PUT (404) and a POST: kill once a fraction of them went through.
    await waitFor(
      'the fake to receive the first contact requests',
      () => contactRequests().length >= 120,
      20_000,
    );
    await kill9(served);
    const atKill1 = actualLists();
    const afterKill1 = await expected();
    t.diagnostic(
      `kill 1 after ${contactRequests().length} contact requests: ${atKill1[CART]!.length} of ${afterKill1.lists[CART]!.length} cart members in Cordial, ${afterKill1.pending} items pending`,
    );
    assert.ok(
      atKill1[CART]!.length < afterKill1.lists[CART]!.length,
      'the kill interrupted the sync (Cordial was still missing cart members)',
    );
    assert.ok(afterKill1.heldOut[CART]!.size > 0, 'some shoppers are held out at 10%');

    // Contacts Cordial already has on the cart list while our ledger does not know it (the kill
    // came between Cordial applying a request and the result being recorded): their purchases
    // must still remove them from the cart list.
    const unacknowledged = await withStore(async (store) => {
      const inCordial = new Set(atKill1[CART]);
      return (await store.sync.items('cordial'))
        .filter((i) => i.list === CART && i.sent !== true && inCordial.has(i.contact.slice('email:'.length)))
        .map((i) => i.contact.slice('email:'.length));
    });
    t.diagnostic(`${unacknowledged.length} cart entries applied in Cordial but not acknowledged at the kill`);

    // Run 2: Cordial is down (503) when the server comes back; purchases arrive meanwhile.
    fake.faults.set({ latencyMs: LATENCY, status: { 503: 1 }, seed: 12 });
    served = await startServe();
    const indexOf = (e: string) => Number(/^shopper(\d+)@/.exec(e)![1]);
    const buyers = new Set<number>([
      ...unacknowledged.slice(0, 40).map(indexOf),
      ...atKill1[CART]!.slice(0, 20).map(indexOf), // acknowledged before the kill
      ...[...afterKill1.heldOut[CART]!].slice(0, 5).map(indexOf), // held out of the cart list
    ]);
    for (let i = 0; buyers.size < 100; i += 3) buyers.add(i); // and some not yet sent at all
    await sendBatches(
      served.address,
      [...buyers].map((i) => purchaseMessage(i)),
    );
    // Wait until the sync has read the purchases from the outbox, then let Cordial recover
    // (with some resets and 500s still) and kill the server again while purchases are going out.
    await waitFor(
      'the purchases to reach the sync ledger',
      () =>
        withStore(
          async (store) =>
            (await store.sync.items('cordial')).filter((i) => i.list === PURCHASED).length === buyers.size,
        ),
      15_000,
    );
    fake.faults.set({ latencyMs: LATENCY, status: { 500: 0.05 }, resetRate: 0.03, seed: 13 });
    const before2 = fake.requests.length;
    const purchaseRequests = () =>
      fake.requests
        .slice(before2)
        .filter((r) => r.status === 200 || r.status === 201)
        .filter((r) => JSON.stringify(r.body ?? {}).includes(PURCHASED)).length;
    await waitFor('the fake to receive the first purchase updates', () => purchaseRequests() >= 25, 20_000);
    await kill9(served);
    const atKill2 = actualLists();
    t.diagnostic(
      `kill 2 after ${purchaseRequests()} purchase updates: ${atKill2[PURCHASED]!.length} of ${buyers.size} purchasers in Cordial`,
    );
    assert.ok(atKill2[PURCHASED]!.length < buyers.size, 'the second kill interrupted the purchase sync');

    // Run 3: restart on the same database and let it converge (light faults still on).
    fake.faults.set({ latencyMs: LATENCY, status: { 500: 0.03 }, resetRate: 0.02, seed: 14 });
    served = await startServe();
    await waitForConvergence(30_000);
    await stopGracefully(served);
    assert.ok(!served.output().includes(fake.apiKey), 'the Cordial key never appears in the log');

    // The final state, from the database with the server stopped.
    const final = await expected();
    assert.deepEqual(actualLists(), final.lists, 'the lists hold exactly the non-held-out members');
    assert.equal(final.pending, 0);
    assert.equal(final.dead, 0, 'nothing dead-lettered');
    // The D2C rules, from what was sent: purchasers out of the cart list and into the suppression list.
    const buyerEmails = new Set([...buyers].map(email));
    assert.deepEqual(final.lists[PURCHASED], [...buyerEmails].sort());
    const cartExpected = Array.from({ length: SHOPPERS }, (_, i) => email(i))
      .filter((e) => !buyerEmails.has(e) && !final.heldOut[CART]!.has(e))
      .sort();
    assert.deepEqual(final.lists[CART], cartExpected);

    // Held-out members are never sent to the list they are held out of.
    const leaks = contactRequests().filter((r) => {
      const address = requestEmail(r);
      return (
        address !== undefined &&
        final.heldOut[CART]!.has(address) &&
        typeof r.body === 'object' &&
        r.body !== null &&
        CART in r.body
      );
    });
    assert.deepEqual(
      leaks.map((r) => `${r.method} ${r.path} ${JSON.stringify(r.body)}`),
      [],
      'held-out members never sent',
    );
    const heldOutNonBuyers = [...final.heldOut[CART]!].filter((e) => !buyerEmails.has(e));
    assert.ok(heldOutNonBuyers.length > 0);
    assert.deepEqual(
      contactRequests().filter((r) => heldOutNonBuyers.includes(requestEmail(r) ?? '')),
      [],
      'held-out shoppers who did not buy are never sent at all',
    );

    // No acknowledged event was lost, and nothing else was stored.
    const logged = await withStore(async (store) =>
      (await store.events.readAfter(0, 100_000)).map((e) => e.messageId),
    );
    assert.equal(logged.length, acknowledged.size, 'events in the log = events acknowledged with a 200');
    assert.deepEqual(new Set(logged), acknowledged);

    t.diagnostic(`${fake.requests.length} requests to the fake; ${Date.now() - started} ms`);
  });
});

// The window a kill -9 exposes, made deterministic in process: Cordial applies an entry but the
// answer never arrives (here a reset after applying; in a crash, the process dies first). The
// entry is not acknowledged, so when the contact then buys, the removal must still be sent.
describe('an entry applied by Cordial whose answer was lost', () => {
  test('a later exit still removes the contact from the list', async () => {
    fake.reset();
    const clock = new ManualClock(Date.parse('2026-11-28T21:10:00.000Z'));
    const h = await harness({
      clock,
      newProfileId: sequentialIds(),
      extra: stringify({
        destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000 } },
        audiences: [{ ...audiences[0]!, holdout: 0 }, audiences[1]!],
      }),
      env: { CORDIAL_KEY: fake.apiKey },
      sync: {
        sleep: (ms: number) => Promise.resolve(clock.advance(ms)),
        random: () => 0.5,
        retryPolicy: DEFAULT_RETRY_POLICY,
      },
    });
    const send = async (...batch: object[]) => {
      const res = await h.server.inject({
        method: 'POST',
        url: '/v1/batch',
        headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
        payload: { batch: batch.map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })) },
      });
      assert.equal(res.statusCode, 200, res.body);
      await h.app.settle();
    };
    try {
      fake.seedContact({ channels: { email: { address: 'lost@example.com' } } });
      // A first shopper, so both lists are known and the next request is the contact's PUT.
      await send(
        { type: 'identify', userId: 'first', traits: { email: 'first@example.com' } },
        { type: 'track', userId: 'first', event: 'Product Added' },
      );
      await send({ type: 'track', userId: 'first', event: 'Order Completed' });
      fake.faults.set({ resetAfterApplyRate: 1 });
      await send(
        { type: 'identify', userId: 'lost', traits: { email: 'lost@example.com' } },
        { type: 'track', userId: 'lost', event: 'Product Added' },
      );
      assert.deepEqual(listed(CART), ['lost@example.com'], 'Cordial applied the entry');
      assert.equal(fake.requests.at(-1)?.fault, 'reset-after-apply', 'and its answer was lost');
      fake.faults.clear();
      clock.advance(30 * 60_000);
      await send({ type: 'track', userId: 'lost', event: 'Order Completed' });
      clock.advance(30 * 60_000);
      await h.app.settle();
      assert.deepEqual(listed(PURCHASED), ['first@example.com', 'lost@example.com']);
      assert.deepEqual(listed(CART), [], 'the buyer is removed from the cart list');
    } finally {
      await h.close();
    }
  });
});
