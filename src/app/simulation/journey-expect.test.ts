import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { unknownAudiences } from './journey-expect.ts';
import { readJourney } from './journey.ts';

const H = 3_600_000;
const start = Date.parse('2026-11-28T21:10:00Z');
const journey = (expect: string, steps = '  - add: {}\n  - wait: 5h\n  - purchase: {}\n') =>
  `profile: { userId: qa-1 }\nstart: 2026-11-28T21:10:00Z\nsteps:\n${steps}expect:\n${expect}`;

const problemsOf = (text: string): string[] => {
  const read = readJourney(text, 'j.yaml');
  assert.ok(!read.ok, 'expected the journey to be refused');
  return read.error.message.split('\n');
};

describe('journey expectations', () => {
  test('at an instant (relative or absolute) or after a step: its instant and how many messages precede it', () => {
    const read = readJourney(
      journey(
        [
          '  - { at: +4h, in: [cart_4_24h], out: cart_0_4h }',
          '  - { after: purchase, out: [cart_4_24h] }',
          '  - { at: 2026-11-28T21:10:00Z, in: [cart_0_4h] }',
          '  - { after: later, in: [cart_4_24h] }',
          '',
        ].join('\n'),
        '  - add: {}\n  - wait: 5h\n    name: later\n  - purchase: {}\n',
      ),
      'j.yaml',
    );
    assert.ok(read.ok, read.ok ? '' : read.error.message);
    assert.deepEqual(
      read.value.expectations.map((e) => [e.label, e.at - start, e.position, e.line]),
      [
        ['at +4h', 4 * H, 2, 9],
        ['after purchase', 5 * H, 3, 10],
        ['at 2026-11-28T21:10:00Z', 0, 2, 11],
        ['after later', 5 * H, 2, 12],
      ],
    );
    assert.deepEqual(read.value.expectations[0]!.out, [{ key: 'cart_0_4h', line: 9, column: 39 }]);
    assert.equal(read.value.inputs.length, 3, 'the identify, the add and the purchase');
  });

  test('bad times, unknown or ambiguous steps and malformed entries are refused with their lines', () => {
    assert.deepEqual(
      problemsOf(
        journey(
          [
            '  - { at: tomorrow, in: [a] }',
            '  - { at: 2026-11-28T20:00:00Z, in: [a] }',
            '  - { after: buy, in: [a] }',
            '  - { at: +1h, after: add, in: [a] }',
            '  - { at: +1h }',
            '  - { at: +1h, in: [a], out: [a] }',
            '',
          ].join('\n'),
        ),
      ),
      [
        'j.yaml:11:5: expect[3]: give exactly one of at (e.g. at: +4h) or after (a step name, e.g. after: purchase)',
        'j.yaml:12:5: expect[4]: list the audiences expected: in: [...], out: [...] or both',
        'j.yaml:13:30: expect[5].out: a is expected both in and out',
      ],
    );
    assert.deepEqual(
      problemsOf(
        journey(
          [
            '  - { at: tomorrow, in: [a] }',
            '  - { at: 2026-11-28T20:00:00Z, in: [a] }',
            '  - { after: buy, in: [a] }',
            '  - { after: add, in: [a] }',
            '',
          ].join('\n'),
          '  - add: {}\n  - add: {}\n',
        ),
      ),
      [
        'j.yaml:7:11: expect[0].at: "tomorrow" is not +<duration> after start (e.g. +4h, +1d2h) or an ISO-8601 time with Z or an offset',
        'j.yaml:8:11: expect[1].at: 2026-11-28T20:00:00Z is before the journey starts (2026-11-28T21:10:00Z)',
        'j.yaml:9:14: expect[2].after: no step is named buy; the steps here answer to add',
        'j.yaml:10:14: expect[3].after: steps[0], steps[1] are both add steps: give the one you mean a name (e.g. name: first-add) and write after: that name',
      ],
    );
  });

  test('two steps may not share a name; a track step answers to its event', () => {
    assert.deepEqual(
      problemsOf(
        journey('  - { after: x, in: [a] }\n', '  - add: {}\n    name: x\n  - purchase: {}\n    name: x\n'),
      ),
      [
        'j.yaml:7:11: steps[1].name: steps[0] is already named x: give each step its own name',
        'j.yaml:9:14: expect[0].after: steps[0], steps[1] are both named x: give each its own name',
      ],
    );
    const read = readJourney(
      journey(
        '  - { after: Coupon Applied, in: [a] }\n',
        '  - wait: 1h\n  - track: { event: Coupon Applied }\n',
      ),
      'j.yaml',
    );
    assert.ok(read.ok, read.ok ? '' : read.error.message);
    assert.equal(read.value.expectations[0]!.at - start, H);
  });

  test('audience keys the config does not define are reported where they are written', () => {
    const read = readJourney(journey('  - after: add\n    in: [cart_0_4h, cart]\n'), 'j.yaml');
    assert.ok(read.ok, read.ok ? '' : read.error.message);
    assert.deepEqual(
      unknownAudiences(read.value.expectations, ['cart_0_4h', 'cart_4_24h']).map((p) => [
        p.path,
        p.line,
        p.column,
        p.message,
      ]),
      [['expect[0].in[1]', 9, 21, 'no audience with key cart in the config; known: cart_0_4h, cart_4_24h']],
    );
  });
});
