import { createHash } from 'node:crypto';
import type {
  AudienceDefinition,
  CompiledAudiences,
  EvaluationContext,
  ProfileState,
} from '../audiences/index.ts';
import { isHeldOut } from '../audiences/index.ts';
import { audienceReferences } from '../audiences/conditions.ts';
import type { TraitValue } from '../identity/model.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { AudienceWrites, ChangeCause, Membership, ProfileRecord } from './model.ts';
import type { SourceEventNames, SourceVerdict } from './source-membership.ts';
import { sourceVerdicts } from './source-membership.ts';

/**
 * What set an evaluation off: the profile's events in this batch, or a reason with no event.
 * `replayed` is the whole history the state was rebuilt from, when it was (a merge, say): source
 * memberships are then read from it rather than carried over.
 */
export type Trigger =
  | {
      events: readonly LoggedEvent[];
      replayed?: readonly LoggedEvent[];
      /** The audiences these events (and trait changes) can move, when only those need a look. */
      affected?: ReadonlySet<string>;
    }
  | { reason: 'window' | 'definition' | 'ranking' };

/** The compiled audiences with what the engine needs around them: versions, holdouts, references. */
export interface AudienceSet {
  compiled: CompiledAudiences;
  definitions: ReadonlyMap<string, AudienceDefinition>;
  versions: ReadonlyMap<string, string>;
  references: ReadonlyMap<string, readonly string[]>;
  /** Audiences whose membership a source (a Customer.io segment) decides. */
  sourced: ReadonlySet<string>;
  /** The events through which that source speaks. */
  sourceEvents: SourceEventNames;
}

export function audienceSet(
  compiled: CompiledAudiences,
  definitions: readonly AudienceDefinition[],
  sourceEvents: SourceEventNames,
): AudienceSet {
  return {
    compiled,
    definitions: new Map(definitions.map((d) => [d.key, d])),
    versions: new Map(definitions.map((d) => [d.key, versionOf(d)])),
    references: new Map(definitions.map((d) => [d.key, audienceReferences(d, '').map((r) => r.audience)])),
    sourced: new Set(definitions.filter((d) => d.source !== undefined).map((d) => d.key)),
    sourceEvents,
  };
}

/** A short, stable hash of a definition: changes recorded under it can be traced to what decided them. */
export function versionOf(definition: AudienceDefinition): string {
  return createHash('sha256').update(JSON.stringify(definition)).digest('hex').slice(0, 12);
}

/** The event as the audience core reads it. */
export const audienceEvent = (e: LoggedEvent) => ({
  id: `${e.offset}`,
  name: e.name ?? e.type,
  timestamp: e.timestamp,
  properties: (e.message as { properties?: Record<string, unknown> }).properties ?? {},
});

/** Folds events into a state, in the order given. */
export function applyAll(
  set: AudienceSet,
  state: ProfileState,
  events: readonly LoggedEvent[],
  now: number,
): ProfileState {
  let s = state;
  // An event no audience reads leaves the state as it is (pruning can wait for the evaluation).
  for (const e of events)
    if (set.compiled.relevantAudiences(e.name ?? e.type).length > 0)
      s = set.compiled.applyEvent(s, audienceEvent(e), now);
  return s;
}

/**
 * Evaluates one profile at `now` and records the difference from its stored memberships as
 * enters and exits, with their causes, into `writes`. Held-out members join the audience
 * flagged, so destinations can skip them and the holdout comparison can count them.
 */
export function evaluateProfile(
  set: AudienceSet,
  record: ProfileRecord,
  state: ProfileState,
  traits: Record<string, TraitValue>,
  thresholds: ReadonlyMap<string, number>,
  now: number,
  trigger: Trigger,
  writes: AudienceWrites,
): void {
  const { compiled } = set;
  const { stored } = record;
  const inputs = new ProfileInputs(set, record, traits, thresholds, trigger);
  // Only the audiences the events can move, unless time may have moved others too (a wake-up
  // due by now): the rest keep their stored answers, and the stored wake-up stays in force.
  const waiting = stored?.wakeAt === null || (stored !== undefined && stored.wakeAt > now);
  const only = 'events' in trigger && waiting ? trigger.affected : undefined;
  const evaluation = compiled.evaluate(state, inputs, now, only);
  const wakeAt =
    only === undefined ? evaluation.nextChangeAt : earliest(evaluation.nextChangeAt, stored!.wakeAt);
  // Sourced audiences first: the audiences that reference them are decided after them.
  const decided: [audience: string, member: boolean][] = [];
  for (const audience of set.sourced) decided.push([audience, inputs.sourceMember(audience)]);
  for (const [audience, result] of evaluation.audiences) decided.push([audience, result.member]);
  const changed = new Set<string>();
  for (const [audience, member] of decided) {
    const current = record.memberships.get(audience);
    if (member === (current !== undefined)) continue;
    changed.add(audience);
    const said = inputs.verdicts?.get(audience)?.event;
    const cause: ChangeCause = said
      ? { kind: 'event', offset: said.offset, messageId: said.messageId, event: said.name ?? said.type }
      : causeOf(set, audience, changed, trigger);
    const version = set.versions.get(audience) ?? '';
    if (member) {
      const percent = set.definitions.get(audience)?.holdout ?? 0;
      // No holdout, no hash to compute: a bucket is never below 0.
      const heldOut = percent > 0 && isHeldOut(record.profileId, audience, percent);
      const membership: Membership = { audience, profileId: record.profileId, since: now, heldOut };
      writes.entered.push(membership);
      writes.changes.push({
        audience,
        profileId: record.profileId,
        change: 'enter',
        at: now,
        cause,
        version,
        heldOut,
      });
    } else {
      writes.exited.push({ audience, profileId: record.profileId });
      writes.changes.push({
        audience,
        profileId: record.profileId,
        change: 'exit',
        at: now,
        cause,
        version,
        heldOut: current!.heldOut,
      });
    }
  }
  for (const ranking of compiled.topPercentRankings) {
    const value = compiled.scoreFor(state, ranking.conditionId);
    if (stored !== undefined && stored.scores.get(ranking.conditionId) === value) continue;
    writes.scores.push({ conditionId: ranking.conditionId, profileId: record.profileId, value });
  }
  // The very state read from the store (no event in the batch touched it) is the stored text.
  const text = state === record.state && stored?.state !== undefined ? stored.state : JSON.stringify(state);
  if (stored !== undefined && stored.state === text && stored.wakeAt === wakeAt) return;
  writes.states.push({ profileId: record.profileId, state, wakeAt, text });
}

const earliest = (a: number | null, b: number | null): number | null =>
  a === null ? b : b === null ? a : Math.min(a, b);

/** What an evaluation reads besides the state: traits, thresholds and what sources said. */
class ProfileInputs implements EvaluationContext {
  /** The source's last word on each sourced audience among the events, when events set this off. */
  readonly verdicts: Map<string, SourceVerdict> | undefined;

  constructor(
    private readonly set: AudienceSet,
    private readonly record: ProfileRecord,
    private readonly traits: Record<string, TraitValue>,
    private readonly thresholds: ReadonlyMap<string, number>,
    private readonly trigger: Trigger,
  ) {
    this.verdicts =
      'events' in trigger ? sourceVerdicts(set.sourceEvents, set.sourced, trigger.replayed ?? trigger.events) : undefined;
  }

  trait(name: string): unknown {
    return this.traits[name]?.value;
  }

  topPercentThreshold(conditionId: string): number | undefined {
    return this.thresholds.get(conditionId);
  }

  /** A rebuilt profile is in a sourced audience only if its history says so. */
  sourceMember(audience: string): boolean {
    const verdict = this.verdicts?.get(audience);
    if (verdict !== undefined) return verdict.member;
    const rebuilt = 'events' in this.trigger && this.trigger.replayed !== undefined;
    return !rebuilt && this.record.memberships.has(audience);
  }
}

function causeOf(
  set: AudienceSet,
  audience: string,
  changed: ReadonlySet<string>,
  trigger: Trigger,
): ChangeCause {
  const reference = set.references.get(audience)?.find((r) => changed.has(r));
  if (reference !== undefined) return { kind: 'audience', audience: reference };
  if ('reason' in trigger) return { kind: trigger.reason };
  const relevant = [...trigger.events]
    .reverse()
    .find((e) => set.compiled.relevantAudiences(e.name ?? e.type).includes(audience));
  const event = relevant ?? trigger.events.at(-1);
  if (event === undefined) return { kind: 'window' };
  return { kind: 'event', offset: event.offset, messageId: event.messageId, event: event.name ?? event.type };
}
