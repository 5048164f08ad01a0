// Every operator command, run as its own process beside a real `serve` under a steady ingest
// load, with Cordial and Customer.io configured: each succeeds (or exits with the documented
// code for its data), and none fails on a locked database. Run with `npm run test:reliability`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { FakeCustomerIo } from '../fakes/customerio/index.ts';
import { startFakeCustomerIo } from '../fakes/customerio/index.ts';
import { createSqliteStore } from '../../src/store/sqlite/index.ts';
import type { CommandRun, LoadTally, ServeProcess } from './serve-process.ts';
import { BUSY, STACK, runCommand, startServe, steadyLoad } from './serve-process.ts';

const WRITE_KEY = 'reliability-web-key';
const ROUNDS = 3;

let cordial: FakeCordial;
let cio: FakeCustomerIo;
let dir: string;
let configFile: string;
let env: Record<string, string>;
let serve: ServeProcess;

before(async () => {
  cordial = await startFakeCordial();
  cio = await startFakeCustomerIo();
  cio.segments.create(
    'VIP',
    Array.from({ length: 300 }, (_, i) => ({ id: `vip${i}`, email: `vip${i}@example.com` })),
  );
  dir = mkdtempSync(join(tmpdir(), 'handoff-beside-serve-'));
  configFile = join(dir, 'handoff.yaml');
  env = { WEB_KEY: WRITE_KEY, CIO_APP_KEY: cio.appApiKey, CORDIAL_KEY: cordial.apiKey };
  writeFileSync(
    configFile,
    stringify({
      storage: { sqlite: { path: join(dir, 'handoff.db') } },
      sources: [{ id: 'web', writeKey: { env: 'WEB_KEY' } }],
      customerio: { baseUrl: cio.baseUrl, appApiKey: { env: 'CIO_APP_KEY' }, pollEvery: '5s' },
      destinations: { cordial: { baseUrl: cordial.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 200 } },
      audiences: [
        {
          key: 'cio_vip',
          name: 'CIO | VIP',
          purpose: 'the VIP segment',
          channels: ['email'],
          ttl: 'none',
          source: { customerio: { segmentId: 1 } },
          destinations: [{ cordial: { list: 'cio-vip', identifier: 'email' } }],
        },
        {
          key: 'viewers_1d',
          name: 'CI | View | 1d',
          purpose: 'recent viewers',
          channels: ['email'],
          ttl: '1d',
          condition: { type: 'event', event: 'Product Viewed', within: '1d' },
          destinations: [{ cordial: { list: 'viewers-1d', identifier: 'email' } }],
        },
      ],
    }),
  );
  const importFile = join(dir, 'events.jsonl');
  writeFileSync(
    importFile,
    Array.from({ length: 2000 }, (_, i) =>
      JSON.stringify({
        type: 'track',
        userId: `imported${i % 400}`,
        event: 'Product Viewed',
        timestamp: new Date().toISOString(),
      }),
    ).join('\n'),
  );
  serve = await startServe(configFile, env);
});

after(async () => {
  await serve?.stop();
  await cordial?.close();
  await cio?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Each command, and the exit codes its data allows (with what a non-zero one must say). */
const commands: { args: () => string[]; allowed: Record<number, RegExp> }[] = [
  { args: () => ['sync', 'poll', 'cio_vip'], allowed: { 0: /cio_vip: applied; 300 listed/ } },
  // Nothing is held back (the segment never shrinks), which the command says with its code 2.
  { args: () => ['sync', 'confirm', 'cio_vip'], allowed: { 2: /no removal is held for cio_vip/ } },
  { args: () => ['sync', 'flush'], allowed: { 0: /contact update\(s\) sent/, 1: /dead letter/ } },
  { args: () => ['sync', 'retry', '--all'], allowed: { 0: /dead letter\(s\) queued again/ } },
  { args: () => ['sync', 'reconcile'], allowed: { 0: /states re-asserted/ } },
  { args: () => ['import', join(dir, 'events.jsonl')], allowed: { 0: /2000 accepted/ } },
  // Beside a running serve, apply is refused and says what to do instead.
  { args: () => ['apply'], allowed: { 2: /a serve \(pid \d+\) is running .*handoff serve --apply/ } },
  { args: () => ['audit', '--since', '1h'], allowed: { 0: /pass|warn/, 1: /fail/ } },
  {
    args: () => [
      'demo',
      '--url',
      serve.address,
      '--write-key',
      WRITE_KEY,
      '--duration',
      '2s',
      '--rate',
      '50',
      '--profiles',
      '20',
    ],
    allowed: { 0: /done: \d+ sent/ },
  },
];

test(
  'every operator command works beside a running serve under a steady ingest load',
  { timeout: 360_000 },
  async (t) => {
    // About 500 events a second, in batches, from 5,000 shoppers.
    const load = steadyLoad({
      url: serve.address,
      writeKey: WRITE_KEY,
      batchSize: 50,
      everyMs: 100,
      event: (i) => ({
        type: 'track',
        userId: `shopper${i % 5000}`,
        event: i % 3 === 0 ? 'Product Viewed' : 'Product Added',
        messageId: `load-${i}`,
        properties: { email: `shopper${i % 5000}@example.com` },
      }),
    });
    const runs: CommandRun[] = [];
    let tally: LoadTally;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Three at a time: they contend with each other as well as with serve.
        const queue = commands.map((c) => c.args());
        const lane = async () => {
          for (let args = queue.shift(); args; args = queue.shift())
            runs.push(await runCommand(configFile, env, args));
        };
        await Promise.all([lane(), lane(), lane()]);
      }
    } finally {
      tally = await load.stop();
    }

    for (const run of [...runs].sort((a, b) => b.ms - a.ms).slice(0, 8))
      t.diagnostic(`${run.command}: ${run.ms} ms`);
    t.diagnostic(
      `ingest: ${tally.events} events acknowledged, slowest batch ${Math.round(tally.slowestMs)} ms`,
    );
    const problems: string[] = [];
    for (const run of runs) {
      const spec = commands.find((c) => c.args().join(' ') === run.command)!;
      const expected = run.code === null ? undefined : spec.allowed[run.code];
      const said = `${run.out}\n${run.err}`;
      if (expected === undefined) problems.push(`${run.command}: exit ${run.code}\n${said.slice(-1500)}`);
      else if (!expected.test(said))
        problems.push(`${run.command}: exit ${run.code} without ${expected}\n${said.slice(-1500)}`);
      if (BUSY.test(said) || STACK.test(said))
        problems.push(`${run.command}: failed on the database\n${said.slice(-1500)}`);
    }
    assert.deepEqual(problems, [], problems.join('\n\n'));
    assert.equal(runs.length, commands.length * ROUNDS);

    assert.deepEqual(tally.failures, [], 'every ingest batch was acknowledged');
    assert.ok(tally.events >= 5000, `the load kept going (${tally.events} events)`);
    assert.ok(
      !BUSY.test(serve.output()),
      `serve never met a locked database:\n${serve
        .output()
        .split('\n')
        .filter((l) => BUSY.test(l))
        .slice(0, 5)
        .join('\n')}`,
    );
    assert.ok(
      !/"level":50/.test(serve.output()),
      `serve logged no error:\n${serve
        .output()
        .split('\n')
        .filter((l) => /"level":50/.test(l))
        .slice(0, 5)
        .join('\n')}`,
    );

    // Every acknowledged event is in the log, once.
    assert.equal(await serve.stop(), 0, serve.output().slice(-3000));
    const store = createSqliteStore(join(dir, 'handoff.db'));
    try {
      let loaded = 0;
      for (let after = 0; ;) {
        const events = await store.events.readAfter(after, 50_000);
        if (events.length === 0) break;
        loaded += events.filter((e) => e.messageId.startsWith('load-')).length;
        after = events.at(-1)!.offset;
      }
      assert.equal(loaded, tally.events);
      // And every poll row that says applied has its enters in the log: the segment's 300 people are members.
      const polls = await store.sources.polls('cio_vip', 0);
      assert.ok(polls.length >= ROUNDS, `${polls.length} polls recorded`);
      assert.ok(
        polls.every((p) => p.outcome === 'applied'),
        JSON.stringify(polls),
      );
      assert.equal((await store.audiences.members('cio_vip')).length, 300);
    } finally {
      await store.close();
    }
  },
);
