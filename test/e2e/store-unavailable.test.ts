// A store that cannot take writes is the server's condition, not the client's: every ingest
// shape answers 503 with Retry-After and the reason, /readyz says so, /healthz stays live.
// SQLite's max_page_count (a per-connection limit) gives a real SQLITE_FULL without a full disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { App } from '../../src/app/app.ts';
import { createApp } from '../../src/app/app.ts';
import { serverServices } from '../../src/app/services.ts';
import { buildServer } from '../../src/server/server.ts';
import type { SqliteDatabase } from '../../src/store/sqlite/database.ts';
import { openSqlite } from '../../src/store/sqlite/database.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import { WRITE_KEYS, basic, testConfig } from '../helpers/harness.ts';

const SITE = 'site-1';
const CIO_KEY = 'cio-key-123';
const HOOK_SECRET = 'hook-secret-123';

let dir: string;
let db: SqliteDatabase;
let app: App;
let server: FastifyInstance;
let url: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'handoff-full-'));
  const path = join(dir, 'handoff.db');
  const config = testConfig(
    path,
    `  - { id: cio, kind: customerio, siteId: ${SITE}, apiKey: { env: CIO_KEY } }
customerio: { appApiKey: { env: CIO_APP_KEY }, webhookSecret: { env: HOOK_SECRET } }
audiences:
  - key: cio_vip
    name: CIO | VIP
    purpose: the VIP segment as Customer.io computes it
    channels: [email]
    ttl: none
    source: { customerio: { segmentId: 1 } }
`,
    { CIO_KEY, HOOK_SECRET },
  );
  db = openSqlite(path);
  app = createApp({ config, store: createSqliteStore(path, db) });
  server = buildServer(serverServices(app));
  url = await server.listen({ port: 0, host: '127.0.0.1' });
});
after(async () => {
  await server.close();
  await app.stop();
  rmSync(dir, { recursive: true, force: true });
});

const big = 'x'.repeat(2_000);
const segmentBatch = (tag: string) =>
  fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: basic(WRITE_KEYS.web) },
    body: JSON.stringify({
      batch: Array.from({ length: 50 }, (_, i) => ({
        type: 'track',
        userId: `full-${tag}-${i}`,
        event: 'Product Viewed',
        messageId: `full-${tag}-${i}`,
        properties: { note: big },
      })),
    }),
  });
const customerioIdentify = () =>
  fetch(`${url}/api/v1/customers/cio-person`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${SITE}:${CIO_KEY}`).toString('base64')}`,
    },
    body: JSON.stringify({ email: 'cio-person@example.com', note: 'y'.repeat(20_000) }),
  });
const webhook = (n: number) =>
  fetch(`${url}/hooks/customerio/cio_vip/enter`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-handoff-secret': HOOK_SECRET },
    body: JSON.stringify({ id: `hook-${n}-${'z'.repeat(400)}`, email: `hooked-${n}@example.com` }),
  });

/** Caps the database at its current size, then fills every free byte of it. */
function fillDatabase(): void {
  db.exec('CREATE TABLE IF NOT EXISTS filler (x BLOB)');
  db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  for (const size of [65_536, 4_096, 256, 16]) {
    for (;;) {
      try {
        db.prepare('INSERT INTO filler VALUES (?)').run(Buffer.alloc(size));
      } catch (error) {
        assert.equal((error as { code?: string }).code, 'SQLITE_FULL');
        break;
      }
    }
  }
}

test('a full database: 503 with Retry-After and the reason on every ingest shape; /readyz follows', async () => {
  assert.equal((await fetch(`${url}/readyz`)).status, 200, 'ready while the store takes writes');
  assert.equal((await segmentBatch('before')).status, 200);
  const stored = db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };

  fillDatabase();

  const segment = await segmentBatch('during');
  assert.equal(segment.status, 503);
  assert.equal(segment.headers.get('retry-after'), '30');
  const body = (await segment.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'store_unavailable');
  assert.match(body.error.message, /the database is full/);

  const cio = await customerioIdentify();
  assert.equal(cio.status, 503);
  assert.equal(cio.headers.get('retry-after'), '30');
  assert.match(((await cio.json()) as { meta: { error: string } }).meta.error, /the database is full/);

  const after = db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
  assert.equal(after.n, stored.n, 'nothing of the refused requests was stored');

  // A webhook's rows are small: they fill what room is left in their pages, then fail.
  let hook = await webhook(0);
  for (let n = 1; hook.status === 200 && n < 500; n++) hook = await webhook(n);
  assert.equal(hook.status, 503, await hook.clone().text());
  assert.equal(hook.headers.get('retry-after'), '30');
  assert.equal(((await hook.json()) as { error: { code: string } }).error.code, 'store_unavailable');

  const ready = await fetch(`${url}/readyz`);
  assert.equal(ready.status, 503);
  assert.ok(ready.headers.get('retry-after'));
  assert.match(
    ((await ready.json()) as { error: { message: string } }).error.message,
    /the database is full/,
  );
  assert.equal((await fetch(`${url}/healthz`)).status, 200, 'liveness is not readiness');

  // Space is freed: the probe passes, but the failed write is remembered until a write succeeds.
  db.pragma('max_page_count = 1073741823');
  const remembered = await fetch(`${url}/readyz`);
  assert.equal(remembered.status, 503);
  assert.match(
    ((await remembered.json()) as { error: { message: string } }).error.message,
    /a write failed at/,
  );
  const retry = await segmentBatch('during');
  assert.equal(retry.status, 200, 'the retry is accepted');
  assert.deepEqual(
    await retry.json(),
    { success: true, accepted: 50, duplicates: 0 },
    'and stored, not taken for a duplicate',
  );
  const retried = db
    .prepare("SELECT count(*) AS n FROM events WHERE message_id LIKE 'full-during-%'")
    .get() as { n: number };
  assert.equal(retried.n, 50);
  assert.equal((await fetch(`${url}/readyz`)).status, 200);
});
