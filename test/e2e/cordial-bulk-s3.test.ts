// Import files in an S3 bucket (presigned URLs for Cordial) and large lists verified by export to
// the same bucket: a first sync, a large exit and a large reconcile under 5xx, 429, failed jobs,
// rejected rows and S3 refusals, with no subscription status changed and every file deleted.
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { FakeS3 } from '../fakes/s3/index.ts';
import { startFakeS3 } from '../fakes/s3/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { harness, sequentialIds } from '../helpers/harness.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';
import {
  N,
  T0,
  bulkSteps,
  bulkSync,
  email,
  isNew,
  purchases,
  range,
  seedContacts,
  shoppers,
} from '../helpers/bulk-scenario.ts';
import * as schemas from '../../src/admin/schemas.ts';

const clock = new ManualClock(T0);
const SYNC = bulkSync(clock);
const BUCKET = 'handoff-test';

let fake: FakeCordial;
let s3: FakeS3;
let h: Harness;
const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };

before(async () => {
  // The AWS SDK's default chain reads these, as it would a deployment's.
  process.env.AWS_ACCESS_KEY_ID = 'AKIAFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  s3 = await startFakeS3({ buckets: [BUCKET] });
  fake = await startFakeCordial({ now: () => clock.now(), writeExport: (b, k, body) => s3.put(b, k, body) });
});
after(async () => {
  await fake.close();
  await s3.close();
  for (const [k, v] of [
    ['AWS_ACCESS_KEY_ID', saved.id],
    ['AWS_SECRET_ACCESS_KEY', saved.secret],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});

beforeEach(async () => {
  fake.reset();
  s3.reset();
  clock.set(T0);
  fake.imports.set({ rowsPerSecond: 500, scheduledMs: 0 });
  seedContacts(fake);
  const extra = stringify({
    server: { adminToken: { env: 'S3_ADMIN_TOKEN' } },
    destinations: {
      cordial: {
        baseUrl: fake.baseUrl,
        apiKey: { env: 'CORDIAL_KEY' },
        rateLimit: 1000,
        bulk: {
          s3: { bucket: BUCKET, prefix: 'handoff/', region: 'us-east-1', endpoint: s3.url },
          accountId: 4242,
          threshold: 300,
          pollInterval: '1s',
          splitBelow: 8,
        },
      },
    },
    audiences: CART_AND_PURCHASERS,
  });
  h = await harness({
    clock,
    newProfileId: sequentialIds(),
    extra,
    env: { CORDIAL_KEY: fake.apiKey, S3_ADMIN_TOKEN: ADMIN },
    sync: SYNC,
  });
});
afterEach(() => h.close());

const { ingest, converge, members, assertStatusesKept } = bulkSteps({ clock, fake: () => fake, h: () => h });

const ADMIN = 'admin-token-for-bulk-s3-tests';
async function admin(url: string): Promise<{ status: number; body: string }> {
  const res = await h.server.inject({ method: 'GET', url, headers: { authorization: `Bearer ${ADMIN}` } });
  return { status: res.statusCode, body: res.body };
}
/** The value of one sample of /metrics, 0 when it is absent. */
async function metric(name: string, labels: string): Promise<number> {
  const text = (await admin('/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

const importRequests = () => fake.requests.filter((r) => r.path === '/v2/contactimports' && r.status === 201);

describe('bulk files in S3', () => {
  test('a large first sync and a large exit go through presigned S3 files, under faults; files are deleted', async () => {
    s3.failNextPuts(2);
    fake.faults.set({ status: { 503: 0.05, 429: 0.05 }, seed: 7 });
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
    for (const r of importRequests()) {
      const source = (r.body as { source: { transport: string; url: string } }).source;
      assert.equal(source.transport, 'HTTP');
      assert.ok(source.url.startsWith(`${s3.url}/${BUCKET}/handoff/imports/`), source.url);
      assert.match(source.url, /X-Amz-Signature=/);
    }
    assert.ok(importRequests().length >= 2, 'a failed job and the jobs after it');
    const fetched = s3.requests.filter((r) => r.auth === 'presigned' && r.method === 'GET');
    assert.ok(
      fetched.length >= 2 && fetched.every((r) => r.status === 200),
      'Cordial fetched each file by its presigned URL',
    );
    assert.ok(
      s3.requests.filter((r) => r.method === 'PUT' && r.status === 503).length === 2,
      'two uploads were refused and retried',
    );
    assertStatusesKept();
    const viewed = await admin('/api/admin/sync');
    assert.equal(viewed.status, 200, viewed.body);
    const view = schemas.syncResponse.parse(JSON.parse(viewed.body));
    assert.deepEqual(view.bulkJobs.inFlight, []);
    const stored = (await h.app.store.bulk.recent('cordial', 200)).filter(
      (j) => j.state === 'done' || j.state === 'failed',
    );
    assert.deepEqual(
      view.bulkJobs.ended.map((j) => [j.id, j.state, j.remoteId]),
      stored.slice(0, 10).map((j) => [j.id, j.state, j.remoteId ?? null]),
      'the last ten jobs that ended, newest first',
    );
    assert.ok(
      view.bulkJobs.ended.some(
        (j) => j.state === 'done' && j.result !== null && j.completedItems === j.totalItems,
      ),
      'a job that ended shows its result and progress',
    );
    assert.ok((await metric('handoff_sync_bulk_jobs_total', 'kind="import",result="failed"')) >= 1);

    fake.imports.set({ rowsPerSecond: 500, scheduledMs: 0 });
    await ingest(purchases(range(0, N)));
    await converge();
    assert.deepEqual(fake.listMembers('cart-0-4h'), []);
    assert.deepEqual(fake.listMembers('purchased-7d'), await members('purchased_7d'));
    assert.equal((await h.app.store.sync.deadLetters('cordial')).length, 0);
    assertStatusesKept();
    assert.deepEqual([...s3.objects(BUCKET).keys()], [], 'every import file was deleted when its job ended');
  });

  test('a large list is verified by one export; the drift alone is repaired, in bulk when large', async () => {
    await ingest(shoppers(range(0, N)));
    await converge();
    await ingest(purchases(range(0, 100)));
    await converge();
    const cart = await members('cart_0_4h');
    assert.equal(cart.length, N - 100);
    // Drift made by hand in Cordial: 350 members taken off the list, 4 leavers put back on it,
    // and a contact Handoff never knew added to it.
    const off = range(100, 450).filter((i) => !isNew(i));
    for (const i of off) fake.seedContact({ channels: { email: { address: email(i) } }, 'cart-0-4h': false });
    const back = [0, 25, 50, 75];
    for (const i of back) fake.seedContact({ channels: { email: { address: email(i) } }, 'cart-0-4h': true });
    fake.seedContact({ channels: { email: { address: 'stranger@example.com' } }, 'cart-0-4h': true });

    fake.faults.set({ status: { 503: 0.05, 429: 0.05 }, seed: 5 });
    fake.exports.set({ rowsPerSecond: 200, scheduledMs: 500, failNextJobs: 1 });
    const imported = importRequests().length;
    const report = await h.app.sync!.verify();
    fake.faults.clear();

    assert.equal(report.exports.length, 1, 'one list is large enough to export');
    const [exported] = report.exports;
    assert.equal(exported?.list, 'cart-0-4h');
    assert.equal(exported?.error, undefined);
    assert.equal(exported?.unknown, 1, 'the stranger is reported, not removed');
    const exportJobs = fake.exports.jobs();
    assert.equal(
      exportJobs.filter((j) => j.status === 'Failed').length,
      1,
      'the failed export was tried again',
    );
    assert.equal((exportJobs.at(-1) as { status: string }).status, 'Done');
    const expected = [...off.map((i) => `email:${email(i)}`), ...back.map((i) => `email:${email(i)}`)].sort();
    assert.deepEqual(
      report.drift
        .filter((d) => d.list === 'cart-0-4h')
        .map((d) => d.contact)
        .sort(),
      expected,
    );
    assert.deepEqual(report.unreadable, []);
    assert.equal(await metric('handoff_sync_bulk_jobs_total', 'kind="export",result="failed"'), 1);
    assert.equal(await metric('handoff_sync_bulk_jobs_total', 'kind="export",result="done"'), 1);
    assert.equal(await metric('handoff_sync_bulk_rows_total', 'kind="export",result="done"'), exported?.rows);
    const reads = fake.requests.filter(
      (r) => r.method === 'GET' && r.path.startsWith('/v2/contacts/') && r.status === 200,
    );
    assert.ok(reads.length <= 100, `${reads.length} contacts read one by one: only those of the small list`);

    const repair = [...new Set(report.drift.map((d) => d.contact))];
    await h.app.store.sync.reassert('cordial', { contacts: repair });
    await h.app.sync!.drain();
    await converge();
    assert.ok(importRequests().length > imported, 'the 350 re-additions went as an import job');
    assert.deepEqual(
      fake.listMembers('cart-0-4h'),
      [...cart, 'stranger@example.com'].sort(),
      'the list equals the audience (and the stranger Handoff never knew)',
    );
    assertStatusesKept();
    assert.deepEqual([...s3.objects(BUCKET).keys()], [], 'export and import files were deleted');
  });
});
