import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { compileAudiences } from '../audiences/index.ts';
import { parseConfig } from '../config/load.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { Message } from '../ingest/messages.ts';
import { applyAll, audienceSet, evaluateProfile } from './audience-stage.ts';
import { SEGMENT_EVENTS } from '../sources/customerio/messages.ts';
import type { ProfileRecord, StoredRows } from './model.ts';
import { emptyWrites } from './model.ts';

// A profile re-evaluated with nothing new (a ranking pass, a wake-up that changes nothing) keeps
// its rows: writing them again would cost a page write each and change nothing.
const parsed = parseConfig(
  readFileSync(new URL('../../examples/handoff.yaml', import.meta.url), 'utf8'),
  'handoff.yaml',
  {
    HANDOFF_WEB_WRITE_KEY: 'w',
    HANDOFF_BACKEND_WRITE_KEY: 'b',
    HANDOFF_ADMIN_TOKEN: 't',
  },
);
if (!parsed.ok) throw new Error(parsed.error.message);
const { audiences } = parsed.value;
const set = audienceSet(compileAudiences(audiences), audiences, SEGMENT_EVENTS);
const vip = set.compiled.topPercentRankings[0]!;

const T0 = Date.UTC(2025, 0, 1);
const order = (offset: number, revenue: number): LoggedEvent => ({
  offset,
  sourceId: 'backend',
  messageId: `m${offset}`,
  type: 'track',
  userId: 'u1',
  anonymousId: null,
  name: 'Order Completed',
  timestamp: T0 + offset,
  receivedAt: T0 + offset,
  message: { type: 'track', event: 'Order Completed', properties: { revenue } } as unknown as Message,
});

function evaluate(stored: StoredRows | undefined, now: number, events = [order(1, 120)]) {
  const state = applyAll(set, set.compiled.emptyState(), events, now);
  // As the store loads it: the state parsed from the stored text.
  const loaded =
    stored?.state === undefined ? undefined : (JSON.parse(stored.state) as ProfileRecord['state']);
  const record: ProfileRecord = {
    profileId: 'p1',
    state: loaded,
    traits: {},
    memberships: new Map(),
    stored,
  };
  const writes = emptyWrites();
  evaluateProfile({
    set,
    record,
    state,
    traits: {},
    thresholds: new Map(),
    now,
    trigger: { reason: 'window' },
    writes,
  });
  return { state, writes };
}

describe('unchanged rows are not written again', () => {
  const now = T0 + 60_000;
  const first = evaluate(undefined, now);
  const written = first.writes.states[0]!;

  test('a profile evaluated for the first time writes its state and its score', () => {
    assert.equal(first.writes.states.length, 1);
    assert.equal(written.text, JSON.stringify(first.state));
    assert.deepEqual(first.writes.scores, [{ conditionId: vip.conditionId, profileId: 'p1', value: 120 }]);
  });

  test('the same state, wake-up and score as stored: nothing to write', () => {
    const { writes } = evaluate(
      { state: written.text, wakeAt: written.wakeAt, scores: new Map([[vip.conditionId, 120]]) },
      now,
    );
    assert.deepEqual(writes.states, []);
    assert.deepEqual(writes.scores, []);
  });

  test('a different stored wake-up, state or score is written', () => {
    const moved = evaluate(
      { state: written.text, wakeAt: 1, scores: new Map([[vip.conditionId, 120]]) },
      now,
    );
    assert.equal(moved.writes.states.length, 1);
    assert.deepEqual(moved.writes.scores, []);
    const other = evaluate(
      { state: '{}', wakeAt: written.wakeAt, scores: new Map([[vip.conditionId, 99]]) },
      now,
    );
    assert.equal(other.writes.states.length, 1);
    assert.deepEqual(other.writes.scores, [{ conditionId: vip.conditionId, profileId: 'p1', value: 120 }]);
  });

  test('a state no event touched is the stored one: written only when its wake-up moved', () => {
    const text = JSON.stringify(first.state);
    const record = (wakeAt: number | null): ProfileRecord => ({
      profileId: 'p1',
      state: JSON.parse(text) as ProfileRecord['state'],
      traits: {},
      memberships: new Map(),
      stored: { state: text, wakeAt, scores: new Map([[vip.conditionId, 120]]) },
    });
    const same = record(written.wakeAt);
    const untouched = emptyWrites();
    evaluateProfile({
      set,
      record: same,
      state: applyAll(set, same.state!, [], now),
      traits: {},
      thresholds: new Map(),
      now,
      trigger: { reason: 'window' },
      writes: untouched,
    });
    assert.deepEqual(untouched.states, []);
    const moved = record(1);
    const rewritten = emptyWrites();
    evaluateProfile({
      set,
      record: moved,
      state: moved.state!,
      traits: {},
      thresholds: new Map(),
      now,
      trigger: { reason: 'window' },
      writes: rewritten,
    });
    assert.deepEqual(
      rewritten.states.map((s) => [s.text, s.wakeAt]),
      [[text, written.wakeAt]],
    );
  });

  test('a score not stored yet is written; one that went away is removed only when stored', () => {
    const none = evaluate({ state: written.text, wakeAt: written.wakeAt, scores: new Map() }, now);
    assert.deepEqual(none.writes.scores, [{ conditionId: vip.conditionId, profileId: 'p1', value: 120 }]);
    const noOrders = evaluate({ state: '{}', wakeAt: null, scores: new Map() }, now, []);
    assert.deepEqual(noOrders.writes.scores, []);
    const gone = evaluate({ state: '{}', wakeAt: null, scores: new Map([[vip.conditionId, 120]]) }, now, []);
    assert.deepEqual(gone.writes.scores, [
      { conditionId: vip.conditionId, profileId: 'p1', value: undefined },
    ]);
  });
});
