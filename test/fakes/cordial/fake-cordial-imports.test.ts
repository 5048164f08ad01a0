// Import jobs on the fake: what a client sees of POST /v2/contactimports and GET /v2/jobs/{id}.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { closeNow, listenLocal } from '../local-server.ts';
import type { FakeCordial } from './index.ts';
import { startFakeCordial } from './index.ts';
import { cordialClient } from './test-client.ts';

let fake: FakeCordial;
let files: Map<string, string>;
let fileOrigin: string;
const fileServer = createServer((req, res) => {
  const body = files.get(req.url ?? '');
  res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/csv' }).end(body ?? 'not found');
});
const call = cordialClient(() => fake);
before(async () => {
  fake = await startFakeCordial({ imports: { rowsPerSecond: 100_000, scheduledMs: 0 } });
  fileOrigin = await listenLocal(fileServer);
});
beforeEach(() => {
  fake.reset();
  fake.imports.set({ rowsPerSecond: 100_000, scheduledMs: 0 });
  files = new Map();
  fake.seedList('vip');
  fake.seedContact({ channels: { email: { address: 'ann@x.com', subscribeStatus: 'unsubscribed' } } });
  fake.seedContact({ channels: { email: { address: 'bob@x.com' } } });
});
after(async () => {
  await fake.close();
  await closeNow(fileServer);
});

async function importFile(csv: string, body: Record<string, unknown>): Promise<string> {
  files.set('/f.csv', csv);
  const res = await call('POST', '/contactimports', {
    source: { transport: 'HTTP', url: `${fileOrigin}/f.csv` },
    hasHeader: true,
    ...body,
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.jobId as string;
}

async function settled(id: string): Promise<Record<string, unknown>> {
  for (;;) {
    const res = await call('GET', `/jobs/${id}`);
    assert.equal(res.status, 200);
    if (res.body.status === 'Done' || res.body.status === 'Failed') return res.body;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const csv = 'channels.email.address\nann@x.com\nBOB@x.com\ncarl@x.com\nnot-an-email\n';

describe('contact imports', () => {
  test('updateOnly adds existing contacts to the list, ignores unknown ones, rejects bad rows, keeps status', async () => {
    const id = await importFile(csv, { strategy: 'updateOnly', lists: { addTo: ['vip'] } });
    const job = await settled(id);
    assert.equal(job.status, 'Done');
    assert.equal(job.totalItems, 4);
    assert.equal(job.completedItems, 4);
    assert.deepEqual(job.result, {
      totalRecords: 4,
      updated: 2,
      inserted: 0,
      rejected: 1,
      error: 0,
      ignored: 1,
    });
    assert.deepEqual(fake.listMembers('vip'), ['ann@x.com', 'bob@x.com']);
    assert.equal(fake.contact('ann@x.com')?.channels.email?.subscribeStatus, 'unsubscribed');
    assert.equal(fake.contact('carl@x.com'), undefined);
  });

  test('without a strategy a new email contact is created subscribed (no subscribeStatus column)', async () => {
    const job = await settled(await importFile(csv, { lists: { addTo: ['vip'] } }));
    assert.equal((job.result as { inserted: number }).inserted, 1);
    assert.equal(fake.contact('carl@x.com')?.channels.email?.subscribeStatus, 'subscribed');
  });

  test('removeFrom takes contacts off the list', async () => {
    await settled(await importFile(csv, { strategy: 'updateOnly', lists: { addTo: ['vip'] } }));
    await settled(
      await importFile('channels.email.address\nann@x.com\n', {
        strategy: 'updateOnly',
        lists: { removeFrom: ['vip'] },
      }),
    );
    assert.deepEqual(fake.listMembers('vip'), ['bob@x.com']);
  });

  test('rows are processed at the configured rate, one job at a time', async () => {
    fake.imports.set({ rowsPerSecond: 20, scheduledMs: 0 });
    const first = await importFile(csv, { strategy: 'updateOnly', lists: { addTo: ['vip'] } });
    const second = await importFile(csv, { strategy: 'updateOnly', lists: { addTo: ['vip'] } });
    await new Promise((r) => setTimeout(r, 60));
    const seen = new Set<string>();
    for (;;) {
      const a = (await call('GET', `/jobs/${first}`)).body;
      const b = (await call('GET', `/jobs/${second}`)).body;
      seen.add(`${a.status}/${b.status}`);
      if (b.status === 'Done') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(seen.has('Processing/Pending'), [...seen].join(' '));
  });

  test('a failing job, a missing file, a configuration error, an unknown job', async () => {
    fake.imports.set({ failNextJobs: 1, scheduledMs: 0 });
    const failed = await settled(
      await importFile(csv, { strategy: 'updateOnly', lists: { addTo: ['vip'] } }),
    );
    assert.equal(failed.status, 'Failed');
    const res = await call('POST', '/contactimports', {
      source: { transport: 'HTTP', url: `${fileOrigin}/missing.csv` },
      hasHeader: true,
      lists: { addTo: ['vip'] },
    });
    assert.equal((await settled(res.body.jobId)).status, 'Failed');
    const noTransport = await call('POST', '/contactimports', { source: {}, hasHeader: true });
    assert.equal(noTransport.status, 406);
    assert.equal(noTransport.body.message, 'The source.transport field is required.');
    const noList = await call('POST', '/contactimports', {
      source: { transport: 'HTTP', url: 'http://x' },
      hasHeader: true,
      lists: { addTo: ['nope'] },
    });
    assert.equal(noList.status, 406);
    assert.equal((await call('GET', '/jobs/0123456789abcdef01234567')).status, 404);
  });

  test('rejectValues rejects those rows', async () => {
    fake.imports.set({ rejectValues: ['bob@x.com'], scheduledMs: 0 });
    const job = await settled(
      await importFile('channels.email.address\nann@x.com\nbob@x.com\n', {
        strategy: 'updateOnly',
        lists: { addTo: ['vip'] },
      }),
    );
    assert.equal((job.result as { rejected: number }).rejected, 1);
    assert.deepEqual(fake.listMembers('vip'), ['ann@x.com']);
  });
});
