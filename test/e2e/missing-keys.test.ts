// API keys another service issues (Cordial's, Customer.io's App API key) cannot be generated:
// validate says the work that needs them stays paused, and serve pauses it with a warning.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeCustomerIo } from '../fakes/customerio/index.ts';
import { startFakeCustomerIo } from '../fakes/customerio/index.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestStorage } from '../helpers/store.ts';
import { keptSecrets, processCwd, storeEnv, testStorage } from '../helpers/store.ts';

const bin = fileURLToPath(new URL('../../bin/handoff.mjs', import.meta.url));
let dir: string;
let configFile: string;
let storage: TestStorage;
let cio: FakeCustomerIo;

before(async () => {
  cio = await startFakeCustomerIo();
  dir = mkdtempSync(join(tmpdir(), 'handoff-keys-'));
  configFile = join(dir, 'handoff.yaml');
  storage = testStorage(dir, 'h.db');
  writeFileSync(
    configFile,
    `${storage.yaml}
sources: [{ id: web, writeKey: { env: KEYS_WEB_KEY } }]
destinations: { cordial: { apiKey: { env: KEYS_CORDIAL_KEY }, baseUrl: "http://127.0.0.1:9/v2" } }
customerio: { baseUrl: ${JSON.stringify(cio.baseUrl)}, appApiKey: { env: KEYS_CIO_APP_KEY }, pollEvery: 1s }
audiences:
  - key: cio_vip
    name: CIO | VIP
    purpose: the VIP segment as Customer.io computes it
    channels: [email]
    ttl: none
    source: { customerio: { segmentId: 1 } }
    destinations: [{ cordial: { list: cio-vip, identifier: email } }]
`,
  );
});
after(async () => {
  await cio.close();
  await storage?.drop();
  rmSync(dir, { recursive: true, force: true });
});

test('validate: generated secrets are generated; API keys are not, and their work stays paused', async () => {
  const result = await runCli(configFile, {}, 'validate');
  assert.equal(result.code, 0, result.err);
  const notes = result.err.split('\n');
  const keptIn =
    storage.kind === 'sqlite'
      ? 'secrets.json beside the database'
      : `the database (table ${storage.schema}.generated_secrets)`;
  assert.ok(
    notes.includes(
      `note: KEYS_WEB_KEY is not set; serve will generate a value for it and keep it in ${keptIn}`,
    ),
    result.err,
  );
  const cordial = notes.find((l) => l.startsWith('note: KEYS_CORDIAL_KEY'));
  assert.equal(
    cordial,
    'note: KEYS_CORDIAL_KEY is not set; a Cordial API key cannot be generated: Cordial sync stays paused (changes wait in the outbox) until it is set',
  );
  const appApi = notes.find((l) => l.startsWith('note: KEYS_CIO_APP_KEY'));
  assert.match(
    appApi ?? '',
    /cannot be generated: segment polls stay paused \(webhooks still work\) until it is set$/,
  );
  assert.doesNotMatch(result.err, /(CORDIAL|APP)_KEY is not set; serve will generate/);

  const set = await runCli(
    configFile,
    {
      KEYS_CORDIAL_KEY: 'c-key',
      KEYS_CIO_APP_KEY: 'a-key',
      KEYS_WEB_KEY: 'w-key',
      HANDOFF_CUSTOMERIO_WEBHOOK_SECRET: 'h-secret',
      HANDOFF_ADMIN_TOKEN: 't-admin',
    },
    'validate',
  );
  assert.doesNotMatch(set.err, /note:/, 'nothing to note once every variable is set');
});

test('serve: no value is generated for either API key; sync and polls are paused with a warning', async () => {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '-c', configFile, '--port', '0', '--host', '127.0.0.1'],
    {
      env: { ...process.env, ...storeEnv(), KEYS_WEB_KEY: 'web-key-123' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...processCwd(dir),
    },
  );
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 20_000);
    child.stdout.on('data', () => {
      if (log.includes('handoff is serving')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  // Polls run every second when they run at all.
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  child.kill('SIGTERM');
  assert.equal(await new Promise((resolve) => child.on('exit', resolve)), 0, log);

  assert.match(log, /KEYS_CORDIAL_KEY is not set: Cordial sync is paused/);
  assert.match(log, /KEYS_CIO_APP_KEY is not set: Customer\.io segment polls are paused until it is set/);
  assert.equal(cio.requests.length, 0, 'no poll was sent without the App API key');
  assert.doesNotMatch(log, /poll failed/);
  const kept = await keptSecrets(storage);
  assert.deepEqual(Object.keys(kept).sort(), ['HANDOFF_ADMIN_TOKEN', 'HANDOFF_CUSTOMERIO_WEBHOOK_SECRET']);
});
