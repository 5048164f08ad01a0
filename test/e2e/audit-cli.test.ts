import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { openApp } from '../../src/app/app.ts';
import { loadConfigFile } from '../../src/config/load.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import { sequentialIds } from '../helpers/harness.ts';
import { runCli } from '../helpers/cli.ts';
import type { TestStorage } from '../helpers/store.ts';
import { storeEnv, testStorage } from '../helpers/store.ts';

let fake: FakeCordial;
let dir: string;
let configFile: string;
let storage: TestStorage;
const env = () => ({ FILES_KEY: 'k', CORDIAL_KEY: fake.apiKey });
/** Who is held out, and who of each group bought, as the engine decided. */
const groups = { treated: 0, treatedBought: 0, heldOut: 0, heldOutBought: 0 };
const USERS = Array.from({ length: 20 }, (_, i) => `u${i}`);
const BUYERS = new Set(USERS.slice(0, 10));

const run = (...args: string[]) => runCli(configFile, env(), ...args);

before(async () => {
  fake = await startFakeCordial();
  dir = mkdtempSync(join(tmpdir(), 'handoff-audit-cli-'));
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
          purpose: 'browse retargeting',
          channels: ['email'],
          ttl: '1h',
          holdout: 50,
          condition: { type: 'event', event: 'Product Viewed', within: '1d' },
          destinations: [{ cordial: { list: 'viewers-1d', identifier: 'email' } }],
        },
      ],
    }),
  );
  // Three hours ago everyone viewed; a minute later half of them bought. With a ttl of 1h, every
  // member has overstayed: the audience's exit is broken (its window is a day).
  const loaded = loadConfigFile(configFile, { ...storeEnv(), ...env() });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const clock = new ManualClock(Date.now() - 3 * 3_600_000);
  const app = await openApp({ config: loaded.value, clock, newProfileId: sequentialIds() });
  const at = () => new Date(clock.now()).toISOString();
  await app.ingest.ingest(
    'files',
    USERS.flatMap((u) => [
      { type: 'identify', userId: u, traits: { email: `${u}@example.com` }, timestamp: at() },
      { type: 'track', userId: u, event: 'Product Viewed', timestamp: at() },
    ]),
  );
  await app.settle();
  clock.advance(60_000);
  await app.ingest.ingest(
    'files',
    [...BUYERS].map((u) => ({ type: 'track', userId: u, event: 'Order Completed', timestamp: at() })),
  );
  await app.settle();
  for (const m of await app.store.audiences.members('viewers_1d')) {
    const user = (await app.store.identity.getProfile(m.profileId))!.identifiers.find(
      (i) => i.kind === 'userId',
    )!;
    const bought = BUYERS.has(user.value) ? 1 : 0;
    if (m.heldOut) {
      groups.heldOut++;
      groups.heldOutBought += bought;
    } else {
      groups.treated++;
      groups.treatedBought += bought;
    }
  }
  await app.stop();
});
after(async () => {
  await fake.close();
  await storage?.drop();
  rmSync(dir, { recursive: true, force: true });
});

interface JsonLine {
  check: string;
  audience: string;
  destination: string;
  value: number | null;
  status: string;
  message: string;
}

describe('handoff audit', () => {
  test('json: a stuck member fails the audit with a non-zero exit, and the numbers are right', async () => {
    assert.ok(groups.heldOut > 0 && groups.treated > 0, 'both groups have members');
    const { code, out, err } = await run('audit', '--format', 'json');
    assert.equal(code, 1, err);
    const report = JSON.parse(out) as {
      status: string;
      counts: Record<string, number>;
      lines: JsonLine[];
      audiences: {
        key: string;
        size: number;
        heldOut: number;
        enters: number;
        exits: number;
        stuck: number;
        deadLetters: number;
        matchRate: { rate: number; accepted: number; eligible: number }[];
        conversion: {
          event: string;
          treated: { successes: number; trials: number; rate: number; low: number; high: number };
          holdout: { successes: number; trials: number; rate: number };
          lift: { estimate: number; low: number; high: number };
        };
      }[];
    };
    assert.equal(report.status, 'fail');
    const stuck = report.lines.find((l) => l.check === 'stuck_members')!;
    assert.deepEqual(stuck, {
      check: 'stuck_members',
      audience: 'viewers_1d',
      destination: '',
      value: 20,
      status: 'fail',
      message: '20 member(s) in longer than the ttl of 1h',
    });
    assert.deepEqual(
      report.lines.map((l) => [l.check, l.status]),
      [
        ['size_drift', 'pass'],
        ['stuck_members', 'fail'],
        ['match_rate', 'pass'],
        ['exit_failures', 'pass'],
        ['dead_letters', 'pass'],
        ['overdue_wakeups', 'pass'],
        ['quarantined_events', 'pass'],
      ],
    );
    assert.deepEqual(report.counts, { pass: 6, warn: 0, fail: 1 });
    const a = report.audiences[0]!;
    assert.equal(a.key, 'viewers_1d');
    assert.deepEqual(
      [a.size, a.heldOut, a.enters, a.exits, a.stuck, a.deadLetters],
      [20, groups.heldOut, 20, 0, 20, 0],
    );
    assert.deepEqual(
      a.matchRate.map((m) => [m.rate, m.accepted, m.eligible]),
      [[1, groups.treated, groups.treated]],
    );
    assert.equal(a.conversion.event, 'Order Completed');
    assert.deepEqual(
      [a.conversion.treated.successes, a.conversion.treated.trials],
      [groups.treatedBought, groups.treated],
    );
    assert.deepEqual(
      [a.conversion.holdout.successes, a.conversion.holdout.trials],
      [groups.heldOutBought, groups.heldOut],
    );
    const expectedLift = groups.treatedBought / groups.treated - groups.heldOutBought / groups.heldOut;
    assert.ok(Math.abs(a.conversion.lift.estimate - expectedLift) < 1e-12);
    assert.ok(
      a.conversion.lift.low < a.conversion.lift.estimate &&
        a.conversion.lift.estimate < a.conversion.lift.high,
    );
    assert.ok(
      a.conversion.treated.low < a.conversion.treated.rate &&
        a.conversion.treated.rate < a.conversion.treated.high,
    );
  });

  test('md and html carry the same numbers and verdict lines', async () => {
    const pct = (n: number, d: number) => `${((n / d) * 100).toFixed(1)}%`;
    const treated = `${pct(groups.treatedBought, groups.treated)} (${groups.treatedBought}/${groups.treated})`;
    const holdout = `${pct(groups.heldOutBought, groups.heldOut)} (${groups.heldOutBought}/${groups.heldOut})`;

    const md = await run('audit', '--since', '1d', '--format', 'md');
    assert.equal(md.code, 1);
    assert.match(md.out, /^# Handoff audit, /);
    assert.match(md.out, /\*\*FAIL: 1 fail, 0 warn, 6 pass\*\*/);
    assert.ok(
      md.out.includes(
        `| viewers_1d (CI \\| View \\| 1d) | 20 | – | ${groups.heldOut} | 20 | 0 | 100.0% (cordial) | 20 | – | 0 | fail |`,
      ),
      md.out,
    );
    assert.ok(md.out.includes(`| viewers_1d | ${treated} [`), md.out);
    // The holdout split is a stable hash of the profile: these figures are checked by hand
    // (Wilson 4/12 = [13.8%, 60.9%]; Newcombe's interval for 4/12 − 6/8).
    assert.deepEqual(groups, { treated: 12, treatedBought: 4, heldOut: 8, heldOutBought: 6 });
    assert.ok(
      md.out.includes(
        '| viewers_1d | 33.3% (4/12) [13.8%, 60.9%] | 75.0% (6/8) [40.9%, 92.9%] | -41.7 pts [-68.1, +2.2] |',
      ),
    );
    assert.ok(md.out.includes(` | ${holdout} [`), md.out);
    assert.ok(md.out.includes('- FAIL stuck_members viewers_1d: 20 member(s) in longer than the ttl of 1h'));
    assert.ok(md.out.includes('- PASS match_rate viewers_1d → cordial: '));

    const html = await run('audit', '--format', 'html');
    assert.equal(html.code, 1);
    assert.match(html.out, /^<!doctype html>/);
    assert.ok(html.out.includes('<td>viewers_1d (CI | View | 1d)</td><td>20</td>'), html.out);
    assert.ok(html.out.includes(`<td>${treated} [`));
    assert.ok(
      html.out.includes(
        '<li class="fail">FAIL stuck_members viewers_1d: 20 member(s) in longer than the ttl of 1h</li>',
      ),
    );
  });

  test('bad options are refused with exit 2 and say what to fix', async () => {
    const since = await run('audit', '--since', 'a week');
    assert.equal(since.code, 2);
    assert.match(since.err, /--since: invalid duration "a week"/);
    const format = await run('audit', '--format', 'pdf');
    assert.equal(format.code, 2);
    assert.match(format.err, /--format must be one of md, html, json \(got pdf\)/);
  });
});
