import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdviceCheck, AdviceDeadLetter } from './advice.ts';
import { adviseAudience, reasonInWords, retryCanHelp } from './advice.ts';

const pass = (check: string, destination = ''): AdviceCheck => ({
  check,
  destination,
  status: 'pass',
  value: 0,
  message: 'fine',
});
const letter = (over: Partial<AdviceDeadLetter> = {}): AdviceDeadLetter => ({
  destination: 'cordial',
  status: 422,
  errorKey: 'GENERIC_ERROR_KEY',
  message: 'Invalid email address',
  ...over,
});

describe('audience advice', () => {
  test('a healthy audience has nothing to say', () => {
    const checks = [pass('match_rate', 'cordial'), pass('dead_letters', 'cordial'), pass('stuck_members')];
    assert.deepEqual(adviseAudience({ checks, deadLetters: [], unmatched: 0, ttlMs: null }), []);
  });

  test('dead letters are told per reason, with whether retrying helps, worst first', () => {
    const checks: AdviceCheck[] = [
      {
        check: 'dead_letters',
        destination: 'cordial',
        status: 'fail',
        value: 4,
        message: '4 dead letter(s)',
      },
      { check: 'size_drift', destination: '', status: 'warn', value: 0.9, message: 'size 19 vs mean 10' },
    ];
    const advice = adviseAudience({
      checks,
      deadLetters: [letter(), letter(), letter(), letter({ status: 503, errorKey: null, message: '' })],
      unmatched: 12,
      ttlMs: null,
    });
    assert.deepEqual(
      advice.map((a) => [a.status, a.cause, a.next]),
      [
        [
          'fail',
          '3 addresses refused by Cordial: invalid email',
          'fix at the source, retrying will not help; skip them on the Sync page once fixed',
        ],
        [
          'fail',
          '1 address refused by Cordial: HTTP 503',
          'retry them on the Sync page once the destination answers again',
        ],
        [
          'warn',
          '12 members have no email: the list cannot hold them',
          'send an email for them (identify with traits.email); they sync as soon as one arrives',
        ],
        [
          'warn',
          'the size moved far from its 7-day mean: size 19 vs mean 10',
          'check recent events for a tracking change before acting on the audience',
        ],
      ],
    );
  });

  test('stuck members and late exits read as what they cost', () => {
    const advice = adviseAudience({
      checks: [
        { check: 'stuck_members', destination: '', status: 'fail', value: 2, message: '' },
        { check: 'exit_failures', destination: 'cordial', status: 'fail', value: 5, message: '' },
      ],
      deadLetters: [],
      unmatched: 0,
      ttlMs: 4 * 3_600_000,
    });
    assert.deepEqual(
      advice.map((a) => a.cause),
      [
        '5 exits not confirmed by Cordial in time: people who left are still targeted',
        '2 members in longer than the TTL of 4h: an exit may never fire',
      ],
    );
  });

  test('a missing list says to create it; error keys are read, not shown raw', () => {
    const [advice] = adviseAudience({
      checks: [{ check: 'dead_letters', destination: 'cordial', status: 'fail', value: 1, message: '' }],
      deadLetters: [
        letter({ status: 404, errorKey: 'ACCOUNT_LISTS_NOT_FOUND', message: 'List does not exist' }),
      ],
      unmatched: 0,
      ttlMs: null,
    });
    assert.equal(advice?.cause, '1 address refused by Cordial: the list does not exist there');
    assert.match(advice?.next ?? '', /^create the list/);
    assert.equal(
      reasonInWords({ status: 422, errorKey: 'X', message: 'ID must be unique.' }),
      'ID must be unique',
    );
    assert.equal(retryCanHelp(429), true);
    assert.equal(retryCanHelp(400), false);
    assert.equal(retryCanHelp(undefined), true);
  });
});
