import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestStorage } from '../helpers/store.ts';
import { testStorage } from '../helpers/store.ts';

let fake: FakeCordial;
let dir: string;
let configFile: string;
let storage: TestStorage;

const run = (...args: string[]) => runCli(configFile, { FILES_KEY: 'k', CORDIAL_KEY: fake.apiKey }, ...args);

before(async () => {
  fake = await startFakeCordial();
  dir = mkdtempSync(join(tmpdir(), 'handoff-sync-cli-'));
  configFile = join(dir, 'handoff.yaml');
  storage = testStorage(dir, 'h.db');
  writeFileSync(
    configFile,
    stringify({
      storage: storage.section,
      sources: [{ id: 'files', writeKey: { env: 'FILES_KEY' } }],
      destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 500 } },
      audiences: [
        {
          key: 'viewers_1d',
          name: 'CI | View | 1d',
          purpose: 'test',
          channels: ['email'],
          ttl: '1d',
          condition: { type: 'event', event: 'Product Viewed', within: '1d' },
          destinations: [{ cordial: { list: 'viewers-1d', identifier: 'email' } }],
        },
      ],
    }),
  );
  const events = join(dir, 'events.jsonl');
  const now = new Date().toISOString();
  writeFileSync(
    events,
    ['ann', 'bob', 'cy']
      .flatMap((u) => [
        { type: 'identify', userId: u, traits: { email: `${u}@example.com` }, timestamp: now },
        { type: 'track', userId: u, event: 'Product Viewed', timestamp: now },
      ])
      .map((m) => JSON.stringify(m))
      .join('\n'),
  );
  assert.equal((await run('import', events)).code, 0);
});
after(async () => {
  await fake.close();
  await storage?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('handoff sync', () => {
  test('plan is a dry run of the requests due now', async () => {
    const { code, out } = await run('sync', 'plan');
    assert.equal(code, 0);
    assert.match(out, /3 change\(s\) due now, as 3 request\(s\)/);
    assert.match(out, /PUT \/v2\/contacts\/email:ann@example\.com \{"viewers-1d":true\}/);
    assert.equal(fake.requests.length, 0, 'nothing was sent');
  });

  test('status shows what is pending per audience and list', async () => {
    const { code, out } = await run('sync', 'status');
    assert.equal(code, 0);
    assert.match(out, /\| viewers_1d \| viewers-1d \| 0 \| 3 \| 0 \| 0 \|/);
  });

  test('reconcile --verify reads contacts back, reports drift, and repairs it', async () => {
    const first = await run('sync', 'reconcile', '--verify');
    assert.equal(first.code, 1, first.out + first.err);
    assert.match(first.out, /3 drifted/);
    assert.match(
      first.out,
      /email:ann@example\.com viewers-1d \(viewers_1d\): should be on, Cordial has no such contact/,
    );
    assert.match(first.out, /repaired: 3/);
    assert.deepEqual(fake.listMembers('viewers-1d'), [
      'ann@example.com',
      'bob@example.com',
      'cy@example.com',
    ]);

    // Someone removes bob by hand in Cordial: drift again, and repaired.
    const res = await fetch(`${fake.baseUrl}/contacts/email:bob%40example.com`, {
      method: 'PUT',
      headers: { authorization: fake.authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ 'viewers-1d': false }),
    });
    assert.equal(res.status, 200);
    const second = await run('sync', 'reconcile', '--verify');
    assert.match(second.out, /1 drifted/);
    assert.match(
      second.out,
      /email:bob@example\.com viewers-1d \(viewers_1d\): should be on, Cordial has off/,
    );
    assert.deepEqual(fake.listMembers('viewers-1d'), [
      'ann@example.com',
      'bob@example.com',
      'cy@example.com',
    ]);

    const clean = await run('sync', 'reconcile', '--verify');
    assert.equal(clean.code, 0);
    assert.match(clean.out, /read back 3 of 3 contacts: 0 drifted/);
  });

  test('a dead letter shows in status with Cordial’s reason; retry queues it again', async () => {
    await run('sync', 'reconcile'); // re-assert everything
    // The list lookup answers as Cordial would; the first contact update is refused.
    fake.faults.set({
      failNext: [
        { status: 200, body: [{ id: 1, name: 'viewers-1d', enhanced: true }] },
        { status: 422, body: { error: true, errorKey: 'GENERIC_ERROR_KEY', message: 'Key not exist' } },
      ],
    });
    const flushed = await run('sync', 'flush');
    assert.equal(flushed.code, 1);
    assert.match(
      flushed.out,
      /3 contact update\(s\) sent; 0 pending \(not yet due, or retrying\), 1 dead letter\(s\)/,
    );
    const status = await run('sync', 'status');
    assert.equal(status.code, 1, 'dead letters make status fail');
    assert.match(status.out, /dead letters \(1\)/);
    assert.match(status.out, /422 GENERIC_ERROR_KEY Key not exist/);
    assert.equal((await run('sync', 'retry')).code, 2, 'retry says which');
    const retried = await run('sync', 'retry', '--all');
    assert.match(retried.out, /1 dead letter\(s\) queued again/);
    const after = await run('sync', 'status');
    assert.match(after.out, /\| viewers_1d \| viewers-1d \| \d \| 1 \| 0 \| 0 \|/);
    assert.equal((await run('sync', 'flush')).code, 0);
    assert.deepEqual(fake.listMembers('viewers-1d'), [
      'ann@example.com',
      'bob@example.com',
      'cy@example.com',
    ]);
  });

  test('an unknown audience is named with the ones that sync', async () => {
    const { code, err } = await run('sync', 'status', '--audience', 'nope');
    assert.equal(code, 2);
    assert.match(err, /no audience nope syncs to Cordial; those that do: viewers_1d/);
  });
});
