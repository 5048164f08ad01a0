import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isHeldOut } from '../../src/audiences/holdout.ts';
import type { Io } from '../../src/cli/config-path.ts';
import type { SimulateOptions } from '../../src/cli/simulate.ts';
import { simulateCommand } from '../../src/cli/simulate.ts';

// `handoff simulate` on the example config's reference audiences, called as the CLI action would be.
const exampleConfig = fileURLToPath(new URL('../../examples/handoff.yaml', import.meta.url));
let dir: string;
before(() => (dir = mkdtempSync(join(tmpdir(), 'handoff-simulate-'))));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function simulate(
  options: SimulateOptions,
): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (l) => stdout.push(l), err: (l) => stderr.push(l), env: {}, isTTY: false };
  const code = await simulateCommand({ config: exampleConfig, ...options }, io);
  return { code, stdout, stderr };
}

const CART_JOURNEY = `profile: { userId: qa-1, email: qa@example.com }
start: 2026-11-28T21:10:00Z
steps:
  - view: { product_id: bundle-01, category: Skincare }
  - add: { product_id: bundle-01, price: 49 }
  - wait: 5h
  - purchase: { revenue: 80 }
`;

const jsonl = (messages: (object | string)[]) =>
  messages.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join('\n') + '\n';

describe('handoff simulate --journey', () => {
  test('the cart journey: one JSON line per change, at the exact instants', async () => {
    const journey = file('cart.yaml', CART_JOURNEY);
    const { code, stdout, stderr } = await simulate({ journey, until: '2026-12-07T00:00:00Z' });
    assert.equal(code, 0);
    assert.deepEqual(stderr, []);
    const cart = stdout.filter((l) => /"(cart_0_4h|cart_4_24h|purchased_7d)"/.test(l));
    assert.deepEqual(cart, [
      '{"at":"2026-11-28T21:10:00.000Z","audience":"cart_0_4h","userId":"qa-1","email":"qa@example.com","change":"enter","cause":"event Product Added (journey-step-1)","heldOut":false}',
      '{"at":"2026-11-29T01:10:00.000Z","audience":"cart_0_4h","userId":"qa-1","email":"qa@example.com","change":"exit","cause":"window elapsed","heldOut":false}',
      '{"at":"2026-11-29T01:10:00.000Z","audience":"cart_4_24h","userId":"qa-1","email":"qa@example.com","change":"enter","cause":"window elapsed","heldOut":false}',
      '{"at":"2026-11-29T02:10:00.000Z","audience":"cart_4_24h","userId":"qa-1","email":"qa@example.com","change":"exit","cause":"event Order Completed (journey-step-3)","heldOut":false}',
      '{"at":"2026-11-29T02:10:00.000Z","audience":"purchased_7d","userId":"qa-1","email":"qa@example.com","change":"enter","cause":"event Order Completed (journey-step-3)","heldOut":false}',
      '{"at":"2026-12-06T02:10:00.000Z","audience":"purchased_7d","userId":"qa-1","email":"qa@example.com","change":"exit","cause":"window elapsed","heldOut":false}',
    ]);
  });

  test('two runs print byte-identical output', async () => {
    const journey = file('cart-again.yaml', CART_JOURNEY);
    const first = await simulate({ journey });
    const second = await simulate({ journey });
    assert.ok(first.stdout.length > 6, 'without --until the run settles past 7 days (winback and more)');
    assert.equal(first.stdout.join('\n'), second.stdout.join('\n'));
  });

  test('--until stops the wake-ups: the cart is still open at 01:09', async () => {
    const journey = file('cart-until.yaml', CART_JOURNEY);
    const { code, stdout, stderr } = await simulate({ journey, until: '2026-11-29T01:09:59Z' });
    assert.equal(code, 0);
    assert.deepEqual(
      stdout
        .map((l) => JSON.parse(l) as { audience: string; change: string })
        .map((c) => `${c.change} ${c.audience}`),
      ['enter cart_0_4h'],
    );
    assert.deepEqual(stderr, ['1 event stamped after --until not simulated']);
  });

  test('a journey with a mistake is refused with its line', async () => {
    const journey = file('bad.yaml', CART_JOURNEY.replace('wait: 5h', 'wait: 5 hours'));
    const { code, stdout, stderr } = await simulate({ journey });
    assert.equal(code, 2);
    assert.deepEqual(stdout, []);
    assert.match(stderr.join('\n'), /bad\.yaml:6:11: steps\[2\]\.wait: invalid duration "5 hours"/);
  });
});

describe('handoff simulate --events', () => {
  const t = (h: number) => new Date(Date.parse('2026-11-28T21:10:00Z') + h * 3_600_000).toISOString();

  test('out of order, a bad line and a rejected message: reported on stderr, the rest still runs, exit 1', async () => {
    const events = file(
      'mixed.jsonl',
      jsonl([
        { type: 'track', userId: 'bob', event: 'Product Viewed', timestamp: t(2), messageId: 'v1' },
        { type: 'track', userId: 'ann', event: 'Product Added', timestamp: t(0), messageId: 'late-add' },
        '{"type": "track", "userId": "ann"',
        { type: 'track', event: 'Product Added', timestamp: t(3) },
        { type: 'track', userId: 'cy', event: 'Product Added', timestamp: t(3), messageId: 'add-cy' },
      ]),
    );
    const { code, stdout, stderr } = await simulate({ events, until: t(5) });
    assert.equal(code, 1);
    assert.equal(stderr.length, 2);
    assert.match(stderr[0]!, /^line 3: invalid JSON/);
    assert.equal(stderr[1], 'line 4: every message needs a userId or an anonymousId');
    const changes = stdout.map(
      (l) => JSON.parse(l) as { at: string; audience: string; userId: string; change: string },
    );
    assert.deepEqual(
      changes.filter((c) => c.audience === 'cart_0_4h').map((c) => `${c.at} ${c.userId} ${c.change}`),
      [
        // The late add is decided when it arrives; its window still ends 4h after its own time.
        `${t(2)} ann enter`,
        `${t(3)} cy enter`,
        `${t(4)} ann exit`,
      ],
    );
  });

  test('a CSV file, and byte-identical runs', async () => {
    const events = file(
      'orders.csv',
      `userId,email,event,timestamp,properties.revenue\nann,ann@example.com,Product Added,${t(0)},\nann,,Order Completed,${t(1)},80\n`,
    );
    const first = await simulate({ events, until: t(24) });
    const second = await simulate({ events, until: t(24) });
    assert.equal(first.code, 0);
    assert.equal(first.stdout.join('\n'), second.stdout.join('\n'));
    assert.deepEqual(
      first.stdout
        .map((l) => JSON.parse(l) as { at: string; change: string; audience: string; email: string })
        .filter((c) => c.audience !== 'vip_top_10pct')
        .map((c) => `${c.at} ${c.change} ${c.audience} ${c.email}`),
      [
        `${t(0)} enter cart_0_4h ann@example.com`,
        `${t(1)} exit cart_0_4h ann@example.com`,
        `${t(1)} enter purchased_7d ann@example.com`,
      ],
    );
  });

  test('the held-out flag: cart_0_4h holds out 10%, decided by the simulated profile id', async () => {
    const users = Array.from({ length: 30 }, (_, i) => `user-${i + 1}`);
    // Profiles are created in file order, so user-k is profile pk.
    const heldOut = users.filter((_, i) => isHeldOut(`p${i + 1}`, 'cart_0_4h', 10));
    assert.ok(heldOut.length > 0);
    const events = file(
      'many.jsonl',
      jsonl(
        users.map((userId, i) => ({ type: 'track', userId, event: 'Product Added', timestamp: t(i / 60) })),
      ),
    );
    const { stdout } = await simulate({ events, until: t(1) });
    const flagged = stdout
      .map((l) => JSON.parse(l) as { userId: string; audience: string; heldOut: boolean })
      .filter((c) => c.audience === 'cart_0_4h' && c.heldOut)
      .map((c) => c.userId);
    assert.deepEqual(flagged, heldOut);
  });
});

describe('handoff simulate: usage errors', () => {
  test('exactly one of --events and --journey; --until must be a time with a zone; files must exist', async () => {
    for (const options of [{}, { events: 'a.jsonl', journey: 'b.yaml' }]) {
      const { code, stderr } = await simulate(options);
      assert.equal(code, 2);
      assert.match(stderr.join('\n'), /exactly one of --events .* or --journey/);
    }
    const until = await simulate({ events: 'a.jsonl', until: '2026-11-29 01:00' });
    assert.equal(until.code, 2);
    assert.match(
      until.stderr.join('\n'),
      /--until "2026-11-29 01:00" is not an ISO-8601 time with Z or an offset/,
    );
    const missing = await simulate({ events: join(dir, 'missing.jsonl') });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr.join('\n'), /cannot read .*missing\.jsonl/);
    const format = await simulate({ events: join(dir, 'events.txt') });
    assert.equal(format.code, 2);
    assert.match(format.stderr.join('\n'), /jsonl/);
  });
});
