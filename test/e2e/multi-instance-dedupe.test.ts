// Ingest dedupe across processes: two Handoff apps on one PostgreSQL schema, each with its own
// pool and its own HTTP server, as two `serve` processes have. The same message (same source and
// messageId, or the same Customer.io event `id`) sent to both, at once or one after the other, is
// stored once, and the second copy is acknowledged as a duplicate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/app/app.ts';
import { openApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildServer } from '../../src/server/server.ts';
import { WRITE_KEYS, basic, testConfig } from '../helpers/harness.ts';
import type { TestStorage } from '../helpers/store.ts';
import { testStorage, testStoreKind } from '../helpers/store.ts';

const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const SITE_ID = 'site-dedupe';
const CIO_KEY = 'cio-key-dedupe';
const SEGMENT_AUTH = basic(WRITE_KEYS.web);
const CIO_AUTH = `Basic ${Buffer.from(`${SITE_ID}:${CIO_KEY}`).toString('base64')}`;

interface Instance {
  app: App;
  server: FastifyInstance;
  url: string;
}

if (testStoreKind() !== 'postgres') {
  // Several processes on one SQLite file is not a supported deployment; the run's PostgreSQL pass runs this file.
  console.log(
    '# multi-instance dedupe: PostgreSQL only (two apps share one database); nothing registered on SQLite',
  );
} else {
  describe('ingest dedupe across two apps on one PostgreSQL schema', () => {
    let dir: string;
    let storage: TestStorage;
    const instances: Instance[] = [];

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'handoff-dedupe-'));
      storage = testStorage(dir);
      const config = testConfig(
        storage,
        // Continues the config's sources list with a Customer.io Track source.
        `  - { id: cio, kind: customerio, siteId: ${SITE_ID}, apiKey: { env: CIO_KEY } }`,
        { CIO_KEY },
      );
      // One at a time: the first applies the migrations.
      for (let i = 0; i < 2; i++) {
        const app = await openApp({ config, clock: new ManualClock(NOW) });
        const server = buildServer(serverServices(app));
        const url = await server.listen({ port: 0, host: '127.0.0.1' });
        instances.push({ app, server, url });
      }
    });

    after(async () => {
      for (const { app, server } of instances) {
        await server.close();
        await app.stop();
      }
      await storage.drop();
      rmSync(dir, { recursive: true, force: true });
    });

    const post = async (at: Instance, path: string, body: unknown, auth: string) => {
      const res = await fetch(`${at.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: auth },
        body: JSON.stringify(body),
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Segment's and Customer.io's shapes, read field by field
      return { status: res.status, json: (await res.json()) as any };
    };
    const copiesOf = async (sourceId: string, messageId: string): Promise<number> =>
      (await instances[0]!.app.store.events.readAfter(0, 1_000_000)).filter(
        (e) => e.sourceId === sourceId && e.messageId === messageId,
      ).length;
    const trackBody = (messageId: string) => ({
      userId: 'u1',
      event: 'Product Viewed',
      messageId,
      timestamp: '2026-11-29T11:00:00.000Z',
    });

    test('the same /v1/track to both apps, one after the other: stored once, the second a duplicate', async () => {
      const [a, b] = instances as [Instance, Instance];
      const first = await post(a, '/v1/track', trackBody('seq-1'), SEGMENT_AUTH);
      const second = await post(b, '/v1/track', trackBody('seq-1'), SEGMENT_AUTH);
      assert.deepEqual([first.status, first.json.duplicates], [200, 0]);
      assert.deepEqual([second.status, second.json.duplicates], [200, 1]);
      assert.equal(await copiesOf('web', 'seq-1'), 1);
    });

    test('the same /v1/track to both apps at once, 20 times: each stored once, one of each pair a duplicate', async () => {
      const [a, b] = instances as [Instance, Instance];
      for (let i = 0; i < 20; i++) {
        const id = `race-${i}`;
        const answers = await Promise.all([
          post(a, '/v1/track', trackBody(id), SEGMENT_AUTH),
          post(b, '/v1/track', trackBody(id), SEGMENT_AUTH),
        ]);
        assert.deepEqual(
          answers.map((r) => r.status),
          [200, 200],
        );
        assert.deepEqual(answers.map((r) => r.json.duplicates).sort(), [0, 1], `message ${id}`);
        assert.equal(await copiesOf('web', id), 1, `message ${id}`);
      }
    });

    test('the same /v1/batch of 300 to both apps at once: 300 stored, 300 duplicates between the two answers', async () => {
      const [a, b] = instances as [Instance, Instance];
      const batch = {
        batch: Array.from({ length: 300 }, (_, i) => ({ type: 'track', ...trackBody(`batch-${i}`) })),
      };
      const answers = await Promise.all([
        post(a, '/v1/batch', batch, SEGMENT_AUTH),
        post(b, '/v1/batch', batch, SEGMENT_AUTH),
      ]);
      assert.deepEqual(
        answers.map((r) => [r.status, r.json.accepted]),
        [
          [200, 300],
          [200, 300],
        ],
      );
      assert.equal(answers[0].json.duplicates + answers[1].json.duplicates, 300);
      const stored = (await a.app.store.events.readAfter(0, 1_000_000)).filter((e) =>
        e.messageId.startsWith('batch-'),
      );
      assert.equal(stored.length, 300);
      assert.equal(new Set(stored.map((e) => e.messageId)).size, 300);
    });

    test('the same Customer.io event `id` to both apps, at once and one after the other: stored once', async () => {
      const [a, b] = instances as [Instance, Instance];
      const event = (id: string) => ({ name: 'Product Viewed', id, timestamp: NOW / 1000 - 60 });
      const path = '/api/v1/customers/u2/events';
      const one = await post(a, path, event('cio-seq'), CIO_AUTH);
      const two = await post(b, path, event('cio-seq'), CIO_AUTH);
      // A duplicate `id` is acknowledged like any success, as Customer.io does.
      assert.deepEqual([one.status, two.status], [200, 200]);
      assert.equal(await copiesOf('cio', 'cio-seq'), 1);
      for (let i = 0; i < 10; i++) {
        const answers = await Promise.all([
          post(a, path, event(`cio-race-${i}`), CIO_AUTH),
          post(b, path, event(`cio-race-${i}`), CIO_AUTH),
        ]);
        assert.deepEqual(
          answers.map((r) => r.status),
          [200, 200],
        );
        assert.equal(await copiesOf('cio', `cio-race-${i}`), 1, `event cio-race-${i}`);
      }
    });
  });
}
