// Two `handoff serve` processes on one PostgreSQL schema, events sent to both: each process's
// counters count only its own work, so they sum to the truth, and what describes the shared
// database is a gauge that both report alike, and truly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { basic } from '../helpers/harness.ts';
import type { Served } from '../helpers/serve-process.ts';
import { startServe, stopAll, waitFor } from '../helpers/serve-process.ts';
import type { TestStorage } from '../helpers/store.ts';
import { testStorage, testStoreKind } from '../helpers/store.ts';
import { cartAudience } from '../helpers/cordial-audiences.ts';

const WRITE_KEY = 'metrics-web-key-0123';
const ADMIN_TOKEN = 'metrics-admin-token-0123';
const LIST = 'cart-0-4h';

/** The sum of every series of `name` whose labels include each of `labels` (`key="value"`). */
async function scrape(served: Served, name: string, ...labels: string[]): Promise<number> {
  const res = await fetch(`${served.address}/metrics`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match?.[1] === name && labels.every((l) => (match[2] ?? '').includes(l))) sum += Number(match[3]);
  }
  return sum;
}

if (testStoreKind() !== 'postgres') {
  console.log(
    '# metrics-cluster: PostgreSQL only (several serve processes share one database); nothing registered on SQLite',
  );
} else {
  describe('metrics of two serve processes on one PostgreSQL schema', () => {
    let dir: string;
    let storage: TestStorage;
    let fake: FakeCordial;
    const served: Served[] = [];

    before(async () => {
      fake = await startFakeCordial();
      dir = mkdtempSync(join(tmpdir(), 'handoff-metrics-'));
      storage = testStorage(dir);
      const configFile = join(dir, 'handoff.yaml');
      writeFileSync(
        configFile,
        stringify({
          server: { adminToken: { env: 'METRICS_ADMIN_TOKEN' } },
          storage: storage.section,
          sources: [{ id: 'web', writeKey: { env: 'METRICS_WEB_KEY' } }],
          destinations: {
            cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'METRICS_CORDIAL_KEY' }, rateLimit: 200 },
          },
          audiences: [cartAudience(LIST)],
        }),
      );
      const env = {
        METRICS_WEB_KEY: WRITE_KEY,
        METRICS_ADMIN_TOKEN: ADMIN_TOKEN,
        METRICS_CORDIAL_KEY: fake.apiKey,
      };
      // One at a time: the first applies the migrations.
      for (let i = 0; i < 2; i++) served.push(await startServe(configFile, env, { timeoutMs: 60_000 }));
    });

    after(async () => {
      await stopAll();
      await fake?.close();
      await storage?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('per-process counters sum to the truth; database gauges are equal on both and true', async () => {
      // Shoppers 0..11 go to the first process, 12..19 to the second: 2 events each.
      const emails: string[] = [];
      for (const [via, from, to] of [
        [served[0]!, 0, 12],
        [served[1]!, 12, 20],
      ] as const) {
        const batch = [];
        for (let i = from; i < to; i++) {
          const email = `shopper${i}@example.com`;
          emails.push(email);
          batch.push(
            { type: 'identify', userId: `u${i}`, traits: { email }, messageId: `id-${i}` },
            { type: 'track', userId: `u${i}`, event: 'Product Added', messageId: `add-${i}` },
          );
        }
        const res = await fetch(`${via.address}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basic(WRITE_KEY), 'content-type': 'application/json' },
          body: JSON.stringify({ batch }),
        });
        assert.equal(res.status, 200, await res.text());
      }
      const events = 2 * emails.length;
      const synced = async () => {
        const members = fake.lists().some((l) => l.name === LIST)
          ? new Set(fake.listMembers(LIST))
          : new Set();
        if (!emails.every((e) => members.has(e))) return false;
        const pending = await Promise.all(served.map((s) => scrape(s, 'handoff_sync_pending_items')));
        return pending.every((p) => p === 0);
      };
      assert.ok(await waitFor(synced, 60_000), 'every shopper reaches the list');

      const both = (name: string, ...labels: string[]) =>
        Promise.all(served.map((s) => scrape(s, name, ...labels)));
      const sum = async (name: string, ...labels: string[]) =>
        (await both(name, ...labels)).reduce((a, b) => a + b, 0);

      // Counters of each process's own work.
      assert.deepEqual(await both('handoff_ingest_events_total', 'result="stored"'), [24, 16]);
      assert.equal(await sum('handoff_processor_events_total'), events);
      assert.equal(await sum('handoff_audience_changes_total', 'change="enter"'), emails.length);
      assert.equal(await sum('handoff_sync_requests_total'), fake.requests.length);
      assert.equal(await sum('handoff_sync_items_total', 'result="ok"'), emails.length);

      // Gauges of the shared database: the same on both, and true.
      for (const [name, truth] of [
        ['handoff_events_logged', events],
        ['handoff_audience_members', emails.length],
        ['handoff_processor_lag_events', 0],
        ['handoff_sync_pending_items', 0],
        ['handoff_sync_dead_letters', 0],
      ] as const)
        assert.deepEqual(await both(name), [truth, truth], name);
    });
  });
}
