import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAudiences } from '../audiences/index.ts';
import { loadExampleAudiences } from '../audiences/testing/examples.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { Message } from '../ingest/messages.ts';
import { applyAll, audienceSet, evaluateProfile } from './audience-stage.ts';
import { SEGMENT_EVENTS } from '../sources/customerio/messages.ts';
import type { Membership, ProfileRecord } from './model.ts';
import { emptyWrites } from './model.ts';

// An event re-evaluates only the audiences it can move; the others keep their stored answers,
// which only time could have changed, so a wake-up due by now makes the evaluation whole.
const audiences = loadExampleAudiences();
const set = audienceSet(compileAudiences(audiences), audiences, SEGMENT_EVENTS);
const T0 = Date.UTC(2025, 0, 1);
const H = 3_600_000;

const viewed = (offset: number): LoggedEvent => ({
  offset,
  sourceId: 'web',
  messageId: `m${offset}`,
  type: 'track',
  userId: 'u1',
  anonymousId: null,
  name: 'Product Viewed',
  timestamp: T0 + offset,
  receivedAt: T0 + offset,
  message: {
    type: 'track',
    event: 'Product Viewed',
    properties: { category: 'Skincare' },
  } as unknown as Message,
});

/** A profile stored as a cart abandoner: in cart_0_4h (a stale claim, as nothing in its state backs it). */
function storedAbandoner(wakeAt: number | null): ProfileRecord {
  const state = set.compiled.emptyState();
  const text = JSON.stringify(state);
  const member: Membership = { audience: 'cart_0_4h', profileId: 'p1', since: T0, heldOut: false };
  return {
    profileId: 'p1',
    state,
    traits: {},
    memberships: new Map([['cart_0_4h', member]]),
    stored: { state: text, wakeAt, scores: new Map() },
  };
}

function evaluate(record: ProfileRecord, now: number) {
  const events = [viewed(1)];
  const state = applyAll(set, record.state!, events, now);
  const affected = new Set(set.compiled.relevantAudiences('Product Viewed'));
  const writes = emptyWrites();
  evaluateProfile({
    set,
    record,
    state,
    traits: {},
    thresholds: new Map(),
    now,
    trigger: { events, affected },
    writes,
  });
  return writes;
}

describe('an event looks only at the audiences it can move', () => {
  test('Product Viewed feeds neither cart audience, so the stored cart membership stands', () => {
    assert.ok(!set.compiled.relevantAudiences('Product Viewed').includes('cart_0_4h'));
    const writes = evaluate(storedAbandoner(T0 + 4 * H), T0 + H);
    assert.deepEqual(writes.exited, []);
    assert.equal(writes.states[0]?.wakeAt, T0 + 4 * H, 'the stored wake-up stays in force');
  });

  test('with a wake-up due by now, every audience is evaluated: the stale membership ends', () => {
    const writes = evaluate(storedAbandoner(T0 + H), T0 + 2 * H);
    assert.deepEqual(writes.exited, [{ audience: 'cart_0_4h', profileId: 'p1' }]);
  });

  test('the compiled evaluator answers only for the audiences asked', () => {
    const state = applyAll(set, set.compiled.emptyState(), [viewed(1)], T0 + H);
    const ctx = { trait: () => undefined, topPercentThreshold: () => undefined };
    const only = new Set(['skincare_layered', 'winback_discount_eligible']);
    const evaluation = set.compiled.evaluate(state, ctx, T0 + H, only);
    assert.deepEqual([...evaluation.audiences.keys()].sort(), [...only].sort());
    const stored = { ...ctx, sourceMember: (audience: string) => audience === 'winback_60_120d' };
    assert.equal(
      set.compiled.evaluate(state, stored, T0 + H, only).audiences.get('winback_discount_eligible')?.member,
      true,
      'a referenced audience left out reads as its stored membership',
    );
  });
});
