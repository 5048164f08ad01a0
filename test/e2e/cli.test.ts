import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/config-path.ts';
import { basic } from '../helpers/harness.ts';
import type { TestStorage } from '../helpers/store.ts';
import { processCwd, storeEnv, testStorage } from '../helpers/store.ts';

const bin = fileURLToPath(new URL('../../bin/handoff.mjs', import.meta.url));
let dir: string;
let configFile: string;
let storage: TestStorage;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'handoff-cli-'));
  configFile = join(dir, 'handoff.yaml');
  storage = testStorage(dir, 'h.db');
  writeFileSync(configFile, `${storage.yaml}\nsources:\n  - { id: files, writeKey: { env: FILES_KEY } }\n`);
});
after(async () => {
  await storage?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function captureIo(env: NodeJS.ProcessEnv = {}): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: (l) => stdout.push(l),
    err: (l) => stderr.push(l),
    env: { ...storeEnv(), ...env },
    isTTY: false,
  };
}

describe('handoff import', () => {
  test('a JSONL file: accepted, duplicates and rejected lines with reasons; identities resolved', async () => {
    const file = join(dir, 'events.jsonl');
    writeFileSync(
      file,
      [
        JSON.stringify({
          type: 'identify',
          userId: 'imp-1',
          anonymousId: 'anon-imp',
          traits: { email: 'Imp@Example.com' },
          messageId: 'i1',
        }),
        JSON.stringify({ type: 'track', anonymousId: 'anon-imp', event: 'Product Added', messageId: 't1' }),
        '',
        '{"type": "track", "userId": "imp-1"',
        JSON.stringify({ type: 'track', userId: 'imp-1', event: 'Order Completed', messageId: 't1' }),
        JSON.stringify({ type: 'track', event: 'Nobody' }),
      ].join('\n'),
    );
    const io = captureIo();
    const code = await main(['node', 'handoff', 'import', file, '--config', configFile], io);
    assert.equal(code, 1, 'rejected lines make the exit code non-zero');
    assert.match(io.stdout[0] ?? '', /3 accepted \(2 new, 1 duplicates\), 2 rejected/);
    assert.match(io.stdout[1] ?? '', /line 4: /);
    assert.match(io.stdout[2] ?? '', /line 6: every message needs a userId or an anonymousId/);

    const store = await storage.open();
    try {
      const profile = await store.identity.findProfile({ kind: 'email', value: 'imp@example.com' });
      assert.ok(profile, 'import also resolves identities');
      assert.deepEqual(profile.identifiers.map((i) => i.kind).sort(), ['anonymousId', 'email', 'userId']);
      assert.equal(await store.cursors.get('processor'), await store.events.head());
    } finally {
      await store.close();
    }
  });

  test('a CSV file with a header row', async () => {
    const file = join(dir, 'orders.csv');
    writeFileSync(
      file,
      'userId,email,event,timestamp,properties.revenue,properties.note\n' +
        'csv-1,csv1@example.com,Order Completed,2026-11-01T10:00:00Z,49.90,"gift, wrapped"\n' +
        'csv-2,,Order Completed,2026-11-02T10:00:00Z,12,\n',
    );
    const io = captureIo();
    assert.equal(await main(['node', 'handoff', 'import', file, '--config', configFile], io), 0);
    assert.match(io.stdout[0] ?? '', /2 accepted \(2 new, 0 duplicates\), 0 rejected/);
    const store = await storage.open();
    try {
      const events = (await store.events.readAfter(0, 100)).filter((e) => e.userId?.startsWith('csv-'));
      assert.deepEqual(
        events.map((e) => [
          e.userId,
          e.name,
          e.timestamp,
          (e.message as { properties?: unknown }).properties,
        ]),
        [
          [
            'csv-1',
            'Order Completed',
            Date.parse('2026-11-01T10:00:00Z'),
            { revenue: 49.9, note: 'gift, wrapped' },
          ],
          ['csv-2', 'Order Completed', Date.parse('2026-11-02T10:00:00Z'), { revenue: 12 }],
        ],
      );
    } finally {
      await store.close();
    }
  });

  test('an unknown extension and a missing file are clear errors', async () => {
    const io = captureIo();
    assert.equal(
      await main(['node', 'handoff', 'import', join(dir, 'x.txt'), '--config', configFile], io),
      2,
    );
    assert.match(io.stderr.join('\n'), /jsonl|csv/i);
    const io2 = captureIo();
    assert.equal(
      await main(['node', 'handoff', 'import', join(dir, 'missing.jsonl'), '--config', configFile], io2),
      2,
    );
    assert.match(io2.stderr.join('\n'), /cannot read/);
  });
});

describe('handoff validate and --help', () => {
  test('validate reports a valid config, and a broken one with its place', async () => {
    const io = captureIo({ FILES_KEY: 'abcdefgh' });
    assert.equal(await main(['node', 'handoff', 'validate', '--config', configFile], io), 0);
    assert.match(io.stdout.join('\n'), /valid \(1 sources/);
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'server:\n  port: -1\n');
    const io2 = captureIo();
    assert.equal(await main(['node', 'handoff', 'validate', '--config', broken], io2), 2);
    assert.match(io2.stderr.join('\n'), /broken\.yaml:2:9: server\.port/);
  });
  test('validate refuses a CORS origin that no browser sends, saying where and what to write', async () => {
    const file = join(dir, 'cors.yaml');
    writeFileSync(file, 'ingest:\n  cors:\n    origins: [https://shop.example.com/checkout]\n');
    const io = captureIo();
    assert.equal(await main(['node', 'handoff', 'validate', '--config', file], io), 2);
    assert.match(
      io.stderr.join('\n'),
      /cors\.yaml:3:15: ingest\.cors\.origins\[0\]: '\*' or an origin such as https:\/\/shop\.example\.com \(no path/,
    );
  });
  for (const command of ['serve', 'import', 'validate', 'plan', 'apply', 'explain', 'simulate', 'docs']) {
    test(`${command} --help describes its options`, async () => {
      const io = captureIo();
      assert.equal(await main(['node', 'handoff', command, '--help'], io), 0);
      assert.match(io.stdout.join('\n'), /--config/);
    });
  }
});

describe('handoff serve (the real process)', () => {
  test('starts, acknowledges an event after storing it, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [bin, 'serve', '--config', configFile, '--port', '0', '--host', '127.0.0.1'],
      {
        env: { ...process.env, ...storeEnv(), FILES_KEY: 'files-key-123' },
        stdio: ['ignore', 'pipe', 'pipe'],
        ...processCwd(dir),
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`serve did not start:\n${output}`));
      }, 15_000);
      child.stdout.on('data', () => {
        const match = /"address":"(http:[^"]+)"/.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const res = await fetch(`${address}/v1/track`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic('files-key-123') },
      body: JSON.stringify({ userId: 'served', event: 'Product Viewed', messageId: 'served-1' }),
    });
    assert.equal(res.status, 200);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, output);
    assert.ok(!output.includes('files-key-123'), 'the write key never appears in the log');
    const store = await storage.open();
    try {
      const events = await store.events.readAfter(0, 1000);
      assert.ok(events.some((e) => e.messageId === 'served-1'));
    } finally {
      await store.close();
    }
  });
});
