import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { Config } from '../../config/load.ts';
import { parseConfig } from '../../config/load.ts';
import { runJourney } from './journey-run.ts';
import { readJourney } from './journey.ts';

const example = parse(readFileSync(new URL('../../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: unknown[];
};
const parsed = parseConfig(stringify({ audiences: example.audiences }), 'journey-run-test.yaml', {});
if (!parsed.ok) throw new Error(parsed.error.message);
const config: Config = parsed.value;

async function run(text: string) {
  const read = readJourney(text, 'j.yaml');
  assert.ok(read.ok, read.ok ? '' : read.error.message);
  const outcome = await runJourney(config, read.value);
  return {
    passed: outcome.passed,
    notices: outcome.notices,
    misses: outcome.results.flatMap((r) =>
      r.misses.map((m) => `${r.expectation.label}: ${m.audience} expected ${m.expected}`),
    ),
  };
}

describe('running a journey as a test', () => {
  test('after a step sees that step and not the next one at the same instant; at an instant sees both', async () => {
    const outcome = await run(`profile: { userId: qa-1 }
start: 2026-11-28T21:10:00Z
steps:
  - add: {}
  - purchase: {}
expect:
  - { after: add, in: [cart_0_4h] }
  - { after: purchase, in: [purchased_7d], out: [cart_0_4h] }
  - { at: +0s, in: [purchased_7d], out: [cart_0_4h] }
`);
    assert.deepEqual(outcome, { passed: true, notices: [], misses: [] });
  });

  test('a wrong expectation is a miss with the reasons; the others still pass', async () => {
    const read = readJourney(
      `profile: { anonymousId: anon-1 }
start: 2026-11-28T21:10:00Z
steps:
  - add: {}
expect:
  - { at: +4h, in: [cart_0_4h, cart_4_24h] }
  - { at: +1h, in: [cart_0_4h] }
`,
      'j.yaml',
    );
    assert.ok(read.ok);
    const outcome = await runJourney(config, read.value);
    assert.equal(outcome.passed, false);
    assert.deepEqual(
      outcome.results.map((r) => [r.expectation.label, r.misses.map((m) => m.audience)]),
      [
        ['at +4h', ['cart_0_4h']],
        ['at +1h', []],
      ],
    );
    const verdict = outcome.results[0]!.misses[0]!.verdict!;
    assert.equal(verdict.member, false);
    const texts = (e: typeof verdict.explanation): string[] => [e.text, ...e.children.flatMap(texts)];
    assert.ok(texts(verdict.explanation).includes('Product Added within 4h: no (none in window)'));
  });
});
