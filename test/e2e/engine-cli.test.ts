import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { main } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/config-path.ts';
import type { TestStorage } from '../helpers/store.ts';
import { storeEnv, testStorage } from '../helpers/store.ts';

const cart = (window: string) => ({
  key: 'cart_recent',
  name: 'CI | Cart | Recent | No Purchase',
  purpose: 'cart reminder',
  channels: ['email'],
  ttl: window,
  condition: {
    all: [
      { type: 'event', event: 'Product Added', within: window },
      { not: { type: 'since_last', event: 'Order Completed', since: 'Product Added' } },
    ],
  },
});
const purchasers = {
  key: 'purchased_7d',
  name: 'SUP | Purchased | 7d',
  purpose: 'suppression',
  channels: ['paid_social'],
  ttl: '7d',
  condition: { type: 'event', event: 'Order Completed', within: '7d' },
};

let dir: string;
let configFile: string;
let storage: TestStorage;
const writeConfig = (audiences: unknown[]) =>
  writeFileSync(
    configFile,
    stringify({
      storage: storage.section,
      sources: [{ id: 'files', writeKey: { env: 'FILES_KEY' } }],
      audiences,
    }),
  );

function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return runWith([...args, '--config', configFile]);
}

function runWith(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { ...storeEnv(), FILES_KEY: 'files-key-1' },
    isTTY: false,
  };
  return main(['node', 'handoff', ...args], io).then((code) => ({
    code,
    out: out.join('\n'),
    err: err.join('\n'),
  }));
}

const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'handoff-engine-cli-'));
  configFile = join(dir, 'handoff.yaml');
  storage = testStorage(dir, 'h.db');
  writeConfig([cart('4h'), purchasers]);
  const events = join(dir, 'events.jsonl');
  writeFileSync(
    events,
    [
      { type: 'identify', userId: 'ann', traits: { email: 'Ann@Example.com' }, timestamp: hourAgo },
      {
        type: 'track',
        userId: 'ann',
        event: 'Product Added',
        properties: { product_id: 'bundle-01' },
        timestamp: hourAgo,
      },
      {
        type: 'track',
        userId: 'bob',
        event: 'Order Completed',
        properties: { revenue: 20 },
        timestamp: hourAgo,
      },
    ]
      .map((m) => JSON.stringify(m))
      .join('\n'),
  );
  assert.equal((await run('import', events)).code, 0);
});
after(async () => {
  await storage?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('explain', () => {
  test('says who is in, since when, why, and when that next changes', async () => {
    const { code, out } = await run('explain', '--profile', 'email:ann@example.com');
    assert.equal(code, 0, out);
    assert.match(out, /profile \S+: .*userId:ann/);
    assert.match(out, /profile \S+: .*email:ann@example\.com/);
    const leaves = new Date(Date.parse(hourAgo) + 4 * 3_600_000).toISOString().replace('.000Z', 'Z');
    assert.match(
      out,
      new RegExp(
        `IN  cart_recent \\(CI \\| Cart \\| Recent \\| No Purchase\\) since .*; next change at ${leaves.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
      ),
    );
    assert.match(out, /OUT purchased_7d/);
    assert.match(out, /Product Added within 4h: yes/);
  });
  test('an unknown profile or audience is a clear error', async () => {
    const unknown = await run('explain', '--profile', 'nobody');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /no profile is known by nobody/);
    const badAudience = await run('explain', '--profile', 'ann', '--audience', 'nope');
    assert.equal(badAudience.code, 2);
    assert.match(badAudience.err, /no audience with key nope; known: cart_recent, purchased_7d/);
  });
  test('--json is machine-readable', async () => {
    const { out } = await run('explain', '--profile', 'bob', '--json');
    const parsed = JSON.parse(out) as { audiences: { audience: string; member: boolean }[] };
    assert.deepEqual(
      parsed.audiences.map((a) => [a.audience, a.member]),
      [
        ['cart_recent', false],
        ['purchased_7d', true],
      ],
    );
  });
});

describe('docs and schema', () => {
  test('docs prints the mapping table', async () => {
    const { out } = await run('docs');
    assert.match(out, /^\| key \| name \| purpose \| TTL \|/);
    assert.match(
      out,
      /\| purchased_7d \| SUP \\\| Purchased \\\| 7d \| suppression \| 7d \| paid_social \| realtime \|/,
    );
  });
  test('the committed JSON Schema of handoff.yaml is current', async () => {
    const { out } = await runWith(['schema']);
    const committed = readFileSync(new URL('../../examples/handoff.schema.json', import.meta.url), 'utf8');
    assert.equal(
      out.trim(),
      committed.trim(),
      'regenerate with: node bin/handoff.mjs schema > examples/handoff.schema.json',
    );
    const schema = JSON.parse(out) as { properties: Record<string, unknown> };
    assert.ok('audiences' in schema.properties && 'identity' in schema.properties);
  });
});

describe('a changed definition: plan, the serve guard, apply', () => {
  test('plan shows the effect before anything changes; serve refuses until it is applied', async () => {
    writeConfig([cart('30m'), purchasers]);
    const plan = await run('plan');
    assert.equal(plan.code, 0, plan.err);
    assert.match(plan.out, /definitions: 0 added, 1 changed, 0 removed; 2 profiles would be re-evaluated/);
    assert.match(plan.out, /\| cart_recent \| changed \| 0 \| 1 \| 0 \| {2}\| ann \|/);
    assert.match(plan.out, /\| purchased_7d \| unchanged \| 0 \| 0 \|/);
    const again = await run('explain', '--profile', 'ann', '--audience', 'cart_recent');
    assert.match(
      again.err,
      /definitions changed since they were last applied/,
      'explain warns it is not what serve holds',
    );
    const store = await storage.open();
    try {
      assert.equal((await store.audiences.members('cart_recent')).length, 1, 'plan changed nothing');
    } finally {
      await store.close();
    }

    const serve = await run('serve', '--port', '0', '--host', '127.0.0.1');
    assert.equal(serve.code, 2);
    assert.match(serve.err, /cart_recent \(changed\)/);
    assert.match(serve.err, /handoff plan/);

    const apply = await run('apply');
    assert.equal(apply.code, 0, apply.err);
    assert.match(apply.out, /\| cart_recent \| changed \| 0 \| 1 \|/);
    const after = await run('explain', '--profile', 'ann', '--audience', 'cart_recent');
    assert.match(after.out, /OUT cart_recent/);
    const replan = await run('plan');
    assert.match(replan.out, /definitions: 0 added, 0 changed, 0 removed/);
    assert.match(replan.out, /\| cart_recent \| unchanged \| 0 \| 0 \|/);
  });
});
