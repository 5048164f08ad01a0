import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli/main.ts';
import type { Io } from '../../src/cli/config-path.ts';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, harness } from '../helpers/harness.ts';

const DEMO = 'examples/demo.yaml';

function io(): Io & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (l) => lines.push(l), err: (l) => errors.push(l), env: {}, isTTY: false };
}

describe('handoff demo', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness();
    url = await h.listen();
  });
  after(() => h.close());

  test('sends shopping traffic to a running server in real time, and every event is accepted', async () => {
    const out = io();
    const args = ['--config', DEMO, '--url', url, '--write-key', WRITE_KEYS.web];
    const code = await main(
      [
        'node',
        'handoff',
        'demo',
        ...args,
        '--profiles',
        '40',
        '--duration',
        '3s',
        '--rate',
        '200',
        '--seed',
        '5',
      ],
      out,
    );
    assert.equal(code, 0, out.errors.join('\n'));
    const done = out.lines.at(-1)!;
    const [, sent, accepted, rejected] =
      /^done: (\d+) sent, (\d+) accepted, (\d+) rejected$/.exec(done) ?? [];
    assert.ok(Number(sent) > 0, done);
    assert.equal(accepted, sent);
    assert.equal(rejected, '0');
    const events = await h.app.store.events.readAfter(0, 10_000);
    assert.equal(events.length, Number(sent));
    const names = new Set(events.map((e) => e.name ?? e.type));
    assert.ok(names.has('Product Viewed'), [...names].join(', '));
    assert.ok(
      events.every((e) => Math.abs(e.timestamp - Date.now()) < 60_000),
      'stamped as they are sent',
    );
  });

  test('a wrong write key stops it at once with the reason', async () => {
    const out = io();
    const code = await main(
      [
        'node',
        'handoff',
        'demo',
        '--config',
        DEMO,
        '--url',
        url,
        '--write-key',
        'nope',
        '--duration',
        '2s',
        '--rate',
        '500',
        '--seed',
        '1',
      ],
      out,
    );
    assert.equal(code, 1);
    assert.match(out.errors.join('\n'), /401: unknown write key/);
  });

  test('no server, or bad options: a clear error and no traffic', async () => {
    const out = io();
    assert.equal(
      await main(
        ['node', 'handoff', 'demo', '--config', DEMO, '--url', 'http://127.0.0.1:9', '--write-key', 'k'],
        out,
      ),
      1,
    );
    assert.match(out.errors.join('\n'), /no Handoff answers at http:\/\/127\.0\.0\.1:9/);
    for (const [flag, value, message] of [
      ['--rate', '0', /--rate must be a positive whole number, got 0/],
      ['--profiles', 'many', /--profiles must be a positive whole number, got many/],
      ['--duration', 'soon', /--duration soon/],
    ] as const) {
      const bad = io();
      assert.equal(
        await main(
          ['node', 'handoff', 'demo', '--config', DEMO, '--url', url, '--write-key', 'k', flag, value],
          bad,
        ),
        2,
      );
      assert.match(bad.errors.join('\n'), message);
    }
  });
});
