// Test helper: runs arrivals through the compiled evaluator the way the engine does (apply on
// arrival, evaluate, sleep until the returned next change) and through the brute-force
// reference at every instant a change could happen, producing comparable enter/exit timelines.
import assert from 'node:assert/strict';
import type { CompiledAudiences } from '../compile.ts';
import type { AudienceEvent } from '../filters.ts';
import type { EvaluationContext } from '../nodes.ts';
import type { AudienceDefinition, Condition } from '../schema.ts';
import type { ProfileState } from '../trackers.ts';
import { bruteForceMembership } from './brute-force.ts';
import { walkConditions } from '../conditions.ts';

/** Something reaching the engine at `at`: an event (with its own, possibly earlier, timestamp) or a trait change. */
export type Arrival =
  | { at: number; kind: 'event'; event: AudienceEvent }
  | { at: number; kind: 'trait'; name: string; value: unknown };

export interface Change {
  at: number;
  audience: string;
  change: 'enter' | 'exit';
}

export interface Scenario {
  definitions: readonly AudienceDefinition[];
  /** In arrival order (non-decreasing `at`). */
  arrivals: readonly Arrival[];
  /** Nothing is evaluated after this instant. */
  end: number;
  threshold: (conditionId: string) => number | undefined;
}

function traitsAt(arrivals: readonly Arrival[], now: number): Record<string, unknown> {
  const traits: Record<string, unknown> = {};
  for (const a of arrivals) if (a.kind === 'trait' && a.at <= now) traits[a.name] = a.value;
  return traits;
}

function diff(
  previous: Map<string, boolean>,
  current: Map<string, boolean>,
  at: number,
  out: Change[],
): void {
  for (const [audience, member] of current) {
    if (member !== (previous.get(audience) ?? false))
      out.push({ at, audience, change: member ? 'enter' : 'exit' });
  }
}

/**
 * The engine's loop: at each instant that has arrivals or a due wake-up, apply what arrived,
 * evaluate, record changes, and schedule the next wake-up. State is JSON round-tripped, as a
 * store would. `check(now, state)` runs after every evaluation, for pointwise assertions.
 */
export function compiledTimeline(
  compiled: CompiledAudiences,
  scenario: Scenario,
  check?: (now: number, state: ProfileState) => void,
): Change[] {
  const { arrivals, end } = scenario;
  let state = compiled.emptyState();
  const traits: Record<string, unknown> = {};
  const ctx: EvaluationContext = { trait: (name) => traits[name], topPercentThreshold: scenario.threshold };
  let members = new Map<string, boolean>();
  let wake: number | null = null;
  const changes: Change[] = [];
  let i = 0;
  for (;;) {
    const nextArrival = arrivals[i]?.at;
    const now: number | undefined =
      nextArrival === undefined
        ? (wake ?? undefined)
        : wake === null
          ? nextArrival
          : Math.min(nextArrival, wake);
    if (now === undefined || now > end) break;
    while (i < arrivals.length && arrivals[i]!.at === now) {
      const arrival = arrivals[i++]!;
      if (arrival.kind === 'event') state = compiled.applyEvent(state, arrival.event, now);
      else traits[arrival.name] = arrival.value;
    }
    state = JSON.parse(JSON.stringify(state)) as ProfileState;
    const evaluation = compiled.evaluate(state, ctx, now);
    for (const [key, result] of evaluation.audiences) {
      assert.ok(
        result.nextChangeAt === null || result.nextChangeAt > now,
        `${key}: next change ${result.nextChangeAt} is not after ${now}`,
      );
    }
    const current = new Map([...evaluation.audiences].map(([key, r]) => [key, r.member]));
    diff(members, current, now, changes);
    members = current;
    wake = evaluation.nextChangeAt;
    check?.(now, state);
  }
  return changes;
}

/** Every duration written in the definitions (and 0): membership can only change at timestamp + one of them. */
export function durationsOf(definitions: readonly AudienceDefinition[]): number[] {
  const out = new Set<number>([0]);
  const add = (c: Condition) => {
    for (const key of ['within', 'olderThan'] as const) {
      const value = (c as Partial<Record<typeof key, number>>)[key];
      if (value !== undefined) out.add(value);
    }
    if ('between' in c && c.between !== undefined) c.between.forEach((d) => out.add(d));
  };
  for (const d of definitions)
    if (d.condition) walkConditions(d.condition, 'condition').forEach((v) => add(v.condition));
  return [...out];
}

/** Every instant a change can happen at: arrivals, and each event timestamp plus each duration. */
export function candidateInstants(scenario: Scenario): number[] {
  const { arrivals, end } = scenario;
  const start = arrivals[0]?.at;
  if (start === undefined) return [];
  const durations = durationsOf(scenario.definitions);
  const instants = new Set<number>(arrivals.map((a) => a.at));
  for (const a of arrivals)
    if (a.kind === 'event') for (const d of durations) instants.add(a.event.timestamp + d);
  return [...instants].filter((t) => t >= start && t <= end).sort((a, b) => a - b);
}

/** The reference timeline: brute-force membership at every candidate instant. */
export function referenceTimeline(scenario: Scenario): Change[] {
  const changes: Change[] = [];
  let members = new Map<string, boolean>();
  for (const now of candidateInstants(scenario)) {
    const current = referenceMembersAt(scenario, now);
    diff(members, current, now, changes);
    members = current;
  }
  return changes;
}

export function referenceMembersAt(scenario: Scenario, now: number): Map<string, boolean> {
  const events = scenario.arrivals.flatMap((a) => (a.kind === 'event' && a.at <= now ? [a.event] : []));
  return bruteForceMembership(
    scenario.definitions,
    { events, traits: traitsAt(scenario.arrivals, now), threshold: scenario.threshold },
    now,
  );
}

/**
 * At every candidate instant, the compiled evaluator (state folded from what has arrived, then
 * pruned) agrees with the brute-force reference; pruning never changes an answer.
 */
export function assertPointwiseAgreement(compiled: CompiledAudiences, scenario: Scenario): void {
  let state = compiled.emptyState();
  let i = 0;
  for (const now of candidateInstants(scenario)) {
    while (i < scenario.arrivals.length && scenario.arrivals[i]!.at <= now) {
      const arrival = scenario.arrivals[i++]!;
      if (arrival.kind === 'event') state = compiled.applyEvent(state, arrival.event, arrival.at);
    }
    const traits = traitsAt(scenario.arrivals, now);
    const ctx: EvaluationContext = { trait: (name) => traits[name], topPercentThreshold: scenario.threshold };
    const members = (s: ProfileState) =>
      new Map([...compiled.evaluate(s, ctx, now).audiences].map(([key, r]) => [key, r.member]));
    const expected = referenceMembersAt(scenario, now);
    assert.deepEqual(members(state), expected, `membership at ${now}`);
    assert.deepEqual(members(compiled.prune(state, now)), expected, `membership at ${now} after pruning`);
  }
}
