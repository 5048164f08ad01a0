import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { harness, WRITE_KEYS } from '../helpers/harness.ts';
import { runCli } from '../helpers/cli.ts';
import type { DesiredState } from '../../src/sync/ports.ts';

const LIST = 'viewers-1d';
const CONTACTS = 120;
const email = (i: number) => `c${String(i).padStart(3, '0')}@example.com`;
/** Every seventh contact was taken off the list in Cordial by hand: drift to find. */
const drifted = (i: number) => i % 7 === 0;

const audienceYaml = (baseUrl: string) =>
  stringify({
    destinations: { cordial: { baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 500 } },
    audiences: [
      {
        key: 'viewers_1d',
        name: 'CI | View | 1d',
        purpose: 'test',
        channels: ['email'],
        ttl: '1d',
        condition: { type: 'event', event: 'Product Viewed', within: '1d' },
        destinations: [{ cordial: { list: LIST, identifier: 'email' } }],
      },
    ],
  });

const desired = (i: number): DesiredState => ({
  contact: `email:${email(i)}`,
  list: LIST,
  audience: 'viewers_1d',
  profileId: `p${i}`,
  email: email(i),
  desired: true,
  changeSeq: i,
  cause: 'test',
  version: 'v',
  changedAt: 0,
  priority: 0,
  dueAt: 0,
});

let fake: FakeCordial;
let h: Harness;

before(async () => {
  fake = await startFakeCordial();
  h = await harness({
    extra: audienceYaml(fake.baseUrl),
    env: { CORDIAL_KEY: fake.apiKey },
    // The send policy with short waits, so the test retries quickly; Retry-After is still the fake's.
    sync: {
      retryPolicy: {
        initialIntervalMs: 20,
        multiplier: 2,
        maxIntervalMs: 400,
        maxAttempts: 8,
        maxRateLimitWaitMs: 10_000,
      },
    },
  });
  fake.seedList(LIST);
  for (let i = 1; i <= CONTACTS; i++)
    fake.seedContact({ channels: { email: { address: email(i) } }, [LIST]: !drifted(i) });
  const items = Array.from({ length: CONTACTS }, (_, i) => desired(i + 1));
  await h.app.store.sync.record('cordial', { name: 'test', from: 0, to: 0 }, items, []);
});
after(async () => {
  await h.close();
  await fake.close();
});

const contactsRead = (): Set<string> =>
  new Set(
    fake.requests
      .filter((r) => r.method === 'GET' && r.path.startsWith('/v2/contacts/') && r.status === 200)
      .map((r) => decodeURIComponent(r.path.slice('/v2/contacts/'.length))),
  );

describe('sync reconcile --verify against a Cordial that rate-limits and fails', () => {
  test('every contact is read back, and nothing is sent inside a Retry-After wait', async () => {
    fake.faults.set({ status: { 500: 0.1, 503: 0.05, 429: 0.05 }, resetRate: 0.03, seed: 11 });
    const report = await h.app.sync!.verify();
    fake.faults.clear();

    assert.deepEqual(report.unreadable, [], 'no contact is left unread');
    assert.equal(report.checked, CONTACTS);
    const expected = Array.from({ length: CONTACTS }, (_, i) => i + 1).filter(drifted);
    assert.deepEqual(
      report.drift.map((d) => d.contact).sort(),
      expected.map((i) => `email:${email(i)}`),
    );

    const gets = fake.requests.filter((r) => r.method === 'GET');
    assert.ok(gets.filter((r) => r.status === 429).length >= 2, 'the fake rate-limited some reads');
    assert.ok(gets.filter((r) => (r.status ?? 0) >= 500).length >= 5, 'and failed some');
    assert.ok(
      gets.some((r) => r.status === null),
      'and reset some connections',
    );
    assert.deepEqual(
      fake.requestsInsideRetryAfter().map((r) => `${r.method} ${r.path} at ${r.at}`),
      [],
      'no request landed inside a Retry-After window',
    );
    assert.equal(contactsRead().size, CONTACTS, 'the fake answered a read of every contact');
  });

  test('the command exits non-zero while any contact is unread, saying how many', async () => {
    const configFile = join(h.dir, 'handoff.yaml');
    writeFileSync(
      configFile,
      `${h.storage.yaml}
sources:
  - { id: web, writeKey: { env: WEB_KEY } }
${audienceYaml(fake.baseUrl)}`,
    );
    // Two reads Cordial refuses outright (a 4xx is not retried), the rest answered.
    fake.faults.set({ failNext: [{ status: 403 }, { status: 403 }] });
    const env = { WEB_KEY: WRITE_KEYS.web, CORDIAL_KEY: fake.apiKey };
    const run = await runCli(configFile, env, 'sync', 'reconcile', '--verify');
    assert.equal(run.code, 1, run.out + run.err);
    assert.match(run.out, new RegExp(`read back ${CONTACTS - 2} of ${CONTACTS} contacts`));
    assert.match(run.err, new RegExp(`2 of ${CONTACTS} contacts could not be read back after retries`));
  });
});
