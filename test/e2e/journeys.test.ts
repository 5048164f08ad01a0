import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// `handoff test` as a team's CI runs it: the real process, its output and its exit code.
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/handoff.mjs');
const exampleConfig = join(root, 'examples/handoff.yaml');
const examples = join(root, 'examples/journeys');
let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'handoff-journeys-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function handoff(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: dir, timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const EXAMPLES = [
  'browse-cart-purchase.yaml',
  'cart-abandonment.yaml',
  'checkout-no-purchase.yaml',
  'purchased-7d.yaml',
  'winback.yaml',
];

describe('handoff test', () => {
  test('the example journeys pass against the example audiences', async () => {
    const { code, stdout, stderr } = await handoff('test', examples, '-c', exampleConfig);
    assert.equal(stderr, '');
    assert.equal(code, 0, stdout);
    const lines = stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.slice(0, -1).map((l) => l.replace(/ \(\d+ expectations\)$/, '')),
      EXAMPLES.map((f) => `PASS ${join(examples, f)}`),
    );
    assert.equal(lines.at(-1), '5 passed, 0 failed');
  });

  test('a broken expectation fails with the reasons explain gives, and exit 1', async () => {
    const text = readFileSync(join(examples, 'cart-abandonment.yaml'), 'utf8');
    // The cart has moved on to the second reminder by 4h; claim it has not.
    const broken = text.replace(
      '  - at: +4h\n    in: [cart_4_24h]\n    out: [cart_0_4h]',
      '  - at: +4h\n    in: [cart_0_4h]',
    );
    assert.notEqual(broken, text);
    const file = join(dir, 'broken-cart.yaml');
    writeFileSync(file, broken);
    const { code, stdout } = await handoff(
      'test',
      file,
      join(examples, 'purchased-7d.yaml'),
      '-c',
      exampleConfig,
    );
    assert.equal(code, 1, stdout);
    const line = broken.split('\n').indexOf('  - at: +4h') + 1;
    assert.match(stdout, /^FAIL .*broken-cart\.yaml \(1 of 5 expectations failed\)$/m);
    assert.ok(
      stdout.includes(
        `${file}:${line}:5: expect[2] at +4h (2026-11-29T01:10:00Z): expected IN cart_0_4h, but it is OUT\n` +
          '    OUT cart_0_4h (CI | Cart | 0-4h | No Purchase); only an event can change this\n' +
          '      - all of: no\n' +
          '        - Product Added within 4h: no (none in window)\n',
      ),
      stdout,
    );
    assert.match(stdout, /^PASS .*purchased-7d\.yaml/m);
    assert.match(stdout, /^1 passed, 1 failed$/m);

    const json = await handoff('test', file, '-c', exampleConfig, '--json');
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout) as {
      passed: number;
      failed: number;
      journeys: {
        status: string;
        expectations: {
          passed: boolean;
          misses: { audience: string; actual: string; reasons: string[] }[];
        }[];
      }[];
    };
    assert.deepEqual([report.passed, report.failed, report.journeys[0]!.status], [0, 1, 'failed']);
    const missed = report.journeys[0]!.expectations.filter((e) => !e.passed);
    assert.equal(missed.length, 1);
    assert.deepEqual(
      missed[0]!.misses.map((m) => [m.audience, m.actual, m.reasons[0]]),
      [['cart_0_4h', 'out', 'OUT cart_0_4h (CI | Cart | 0-4h | No Purchase); only an event can change this']],
    );
  });

  test('an invalid journey is reported with its line, exit 2; journeys/ beside the config is the default', async () => {
    const project = join(dir, 'project');
    mkdirSync(join(project, 'journeys'), { recursive: true });
    copyFileSync(exampleConfig, join(project, 'handoff.yaml'));
    copyFileSync(join(examples, 'purchased-7d.yaml'), join(project, 'journeys', 'a-buyer.yaml'));
    writeFileSync(
      join(project, 'journeys', 'b-typo.yaml'),
      'profile: { userId: a }\nstart: 2026-11-28T21:10:00Z\nsteps:\n  - add: {}\nexpect:\n  - after: add\n    in: [cart_0_4hh]\n  - at: soon\n    out: [cart_4_24h]\n',
    );
    const { code, stdout, stderr } = await handoff('test', '-c', join(project, 'handoff.yaml'));
    assert.equal(code, 2, stdout + stderr);
    assert.match(stdout, /^PASS .*journeys\/a-buyer\.yaml \(3 expectations\)$/m);
    assert.match(stdout, /^INVALID .*journeys\/b-typo\.yaml$/m);
    assert.match(stderr, /b-typo\.yaml:8:9: expect\[1\]\.at: "soon" is not \+<duration> after start/);
    assert.match(stdout, /^1 passed, 1 failed$/m);

    writeFileSync(
      join(project, 'journeys', 'b-typo.yaml'),
      'profile: { userId: a }\nstart: 2026-11-28T21:10:00Z\nsteps:\n  - add: {}\nexpect:\n  - after: add\n    in: [cart_0_4hh]\n',
    );
    const unknown = await handoff(
      'test',
      join(project, 'journeys', 'b-typo.yaml'),
      '-c',
      join(project, 'handoff.yaml'),
    );
    assert.equal(unknown.code, 2);
    assert.match(
      unknown.stderr,
      /b-typo\.yaml:7:10: expect\[0\]\.in\[0\]: no audience with key cart_0_4hh in the config; known: cart_0_4h, /,
    );

    const missing = await handoff('test', join(dir, 'nowhere'), '-c', exampleConfig);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no journey file or directory at .*nowhere/);
  });
});
