// Compiles validated audience definitions into one evaluator over a compact per-profile state.
// The engine calls applyEvent for each event, evaluate after each batch and at each wake-up.
import { assertNever, fail, HandoffError, ok, type Result } from '../shared/result.ts';
import { eventLeaf, lastLeaf, sinceLastLeaf } from './event-leaves.ts';
import type { AudienceEvent } from './filters.ts';
import { dependencyOrder, withDependents } from './graph.ts';
import {
  combine,
  negate,
  yesNo,
  type AudienceResult,
  type CompiledNode,
  type EvaluationContext,
  type Explanation,
  type Track,
  type View,
} from './nodes.ts';
import type { AudienceDefinition, Condition } from './schema.ts';
import {
  applyToTrackers,
  emptyState,
  mergeTrackers,
  pruneTrackers,
  trackerKey,
  type ProfileState,
  type TrackerSpec,
} from './trackers.ts';
import { aggregateLeaf, inAudienceLeaf, topPercentLeaf, traitLeaf } from './value-leaves.ts';

/** Every audience's answer for one profile, plus when the profile next needs a look. */
export interface Evaluation {
  /** Condition-based audiences in dependency order. */
  audiences: Map<string, AudienceResult>;
  /** Earliest next change over all audiences (ms); null if only events can change anything. */
  nextChangeAt: number | null;
}

/** A top_percent condition whose threshold the engine computes across profiles. */
export interface TopPercentRanking {
  conditionId: string;
  audience: string;
  percent: number;
}

export interface CompiledAudiences {
  /** Keys of the condition-based audiences, in dependency order. */
  readonly keys: readonly string[];
  readonly topPercentRankings: readonly TopPercentRanking[];
  emptyState(): ProfileState;
  /** Audiences an event with this name can change, their dependents included, in dependency order. */
  relevantAudiences(eventName: string): readonly string[];
  /** Audiences a change of this trait can change, their dependents included. */
  audiencesUsingTrait(traitName: string): readonly string[];
  /** State keys an audience reads; keys new to a changed definition are what a backfill must rebuild. */
  trackerKeys(audienceKey: string): readonly string[];
  /** Folds one event into the state (any arrival order) and prunes what `now` makes irrelevant. */
  applyEvent(
    state: ProfileState,
    event: AudienceEvent,
    now: number,
    options?: { only?: ReadonlySet<string> },
  ): ProfileState;
  /** Drops what can no longer matter at `now`; evaluation gives the same answers before and after. */
  prune(state: ProfileState, now: number): ProfileState;
  /** Two profiles' states as the state of all their events together, pruned at `now`. */
  merge(a: ProfileState, b: ProfileState, now: number): ProfileState;
  /**
   * Every audience's answer at `now`, or only those in `only` (the audiences an event can move;
   * an audience left out reads as the context's stored membership wherever another references it).
   */
  evaluate(state: ProfileState, ctx: EvaluationContext, now: number, only?: ReadonlySet<string>): Evaluation;
  explain(state: ProfileState, ctx: EvaluationContext, now: number, audienceKey: string): Result<Explanation>;
  /** The profile's aggregate for a top_percent condition; undefined when it has no matching events. */
  scoreFor(state: ProfileState, conditionId: string): number | undefined;
}

interface CompiledAudience {
  definition: AudienceDefinition;
  root: CompiledNode;
  trackerKeys: string[];
  events: Set<string>;
  traits: Set<string>;
}

export function compileAudiences(definitions: readonly AudienceDefinition[]): CompiledAudiences {
  const { order, cycles } = dependencyOrder(definitions);
  if (cycles.length > 0) {
    throw new HandoffError(
      'audience_cycle',
      `audiences reference each other in a cycle: ${cycles[0]!.join(' → ')}`,
    );
  }
  const known = new Set(definitions.map((d) => d.key));
  const specs = new Map<string, TrackerSpec>();
  const scores = new Map<string, (state: ProfileState) => number | undefined>();
  const topPercentRankings: TopPercentRanking[] = [];
  const compiled: CompiledAudience[] = [];

  for (const definition of order.map((i) => definitions[i]!)) {
    if (definition.condition === undefined) continue;
    const trackerKeys: string[] = [];
    const events = new Set<string>();
    const traits = new Set<string>();
    const track: Track = (spec) => {
      const key = trackerKey(spec);
      specs.set(key, spec);
      if (!trackerKeys.includes(key)) trackerKeys.push(key);
      events.add(spec.match.event);
      return key;
    };
    const compileNode = (condition: Condition, path: string): CompiledNode => {
      switch (condition.type) {
        case 'event':
          return eventLeaf(condition, track);
        case 'last':
          return lastLeaf(condition, track);
        case 'since_last':
          return sinceLastLeaf(condition, track);
        case 'aggregate':
          return aggregateLeaf(condition, track);
        case 'trait':
          traits.add(condition.trait);
          return traitLeaf(condition);
        case 'in_audience':
          if (!known.has(condition.audience)) {
            throw new HandoffError(
              'unknown_audience',
              `${definition.key} references unknown audience ${condition.audience}`,
            );
          }
          return inAudienceLeaf(condition);
        case 'top_percent': {
          const conditionId = `${definition.key}/${path}`;
          const leaf = topPercentLeaf(condition, conditionId, track);
          scores.set(conditionId, leaf.score);
          topPercentRankings.push({ conditionId, audience: definition.key, percent: condition.percent });
          return leaf;
        }
        case 'all':
          return combine(
            'all',
            condition.all.map((child, i) => compileNode(child, `${path}.all[${i}]`)),
          );
        case 'any':
          return combine(
            'any',
            condition.any.map((child, i) => compileNode(child, `${path}.any[${i}]`)),
          );
        case 'not':
          return negate(compileNode(condition.not, `${path}.not`));
        default:
          return assertNever(condition, 'condition');
      }
    };
    const root = compileNode(definition.condition, 'condition');
    compiled.push({ definition, root, trackerKeys, events, traits });
  }

  const byKey = new Map(compiled.map((a) => [a.definition.key, a]));
  const inOrder = (keys: Set<string>) => compiled.map((a) => a.definition.key).filter((k) => keys.has(k));
  const affected = (pick: (a: CompiledAudience) => boolean) =>
    inOrder(
      withDependents(
        definitions,
        compiled.filter(pick).map((a) => a.definition.key),
      ),
    );
  // Asked once per event (and changed trait) on the hot path; cached only for names some audience
  // uses, so the cache stays bounded.
  const cachedAffected = (uses: (a: CompiledAudience, name: string) => boolean) => {
    const cache = new Map<string, readonly string[]>();
    return (name: string): readonly string[] => {
      let keys = cache.get(name);
      if (keys === undefined && !compiled.some((a) => uses(a, name))) return [];
      if (keys === undefined) {
        keys = affected((a) => uses(a, name));
        cache.set(name, keys);
      }
      return keys;
    };
  };

  const run = (state: ProfileState, ctx: EvaluationContext, now: number, only?: ReadonlySet<string>) => {
    const results = new Map<string, AudienceResult>();
    const view: View = {
      state,
      ctx,
      now,
      results,
      explainAudience: (key) => {
        const audience = byKey.get(key);
        return audience && explainOne(audience, view);
      },
    };
    let nextChangeAt: number | null = null;
    for (const audience of compiled) {
      if (only !== undefined && !only.has(audience.definition.key)) continue;
      const { value, nextChangeAt: next } = audience.root.evaluate(view);
      results.set(audience.definition.key, { member: value, nextChangeAt: next });
      if (next !== null && (nextChangeAt === null || next < nextChangeAt)) nextChangeAt = next;
    }
    return { view, evaluation: { audiences: results, nextChangeAt } };
  };

  return {
    keys: compiled.map((a) => a.definition.key),
    topPercentRankings,
    emptyState,
    relevantAudiences: cachedAffected((a, eventName) => a.events.has(eventName)),
    audiencesUsingTrait: cachedAffected((a, traitName) => a.traits.has(traitName)),
    trackerKeys: (audienceKey) => byKey.get(audienceKey)?.trackerKeys ?? [],
    applyEvent: (state, event, now, options) =>
      applyToTrackers({ specs, state, event, now, only: options?.only }),
    prune: (state, now) => pruneTrackers(specs, state, now),
    merge: (a, b, now) => mergeTrackers(specs, a, b, now),
    evaluate: (state, ctx, now, only) => run(state, ctx, now, only).evaluation,
    explain: (state, ctx, now, audienceKey) => {
      const audience = byKey.get(audienceKey);
      if (audience === undefined) {
        return fail({
          code: 'unknown_audience',
          message: `no audience with key ${audienceKey} has a condition`,
          at: audienceKey,
        });
      }
      return ok(explainOne(audience, run(state, ctx, now).view));
    },
    scoreFor: (state, conditionId) => scores.get(conditionId)?.(state),
  };
}

/** Explains one audience from a finished evaluation pass (so every audience has its result in `view`). */
function explainOne(audience: CompiledAudience, view: View): Explanation {
  const { member, nextChangeAt } = view.results.get(audience.definition.key) ?? {
    member: false,
    nextChangeAt: null,
  };
  return {
    text: `${audience.definition.name} (${audience.definition.key}): ${yesNo(member)}`,
    value: member,
    nextChangeAt,
    children: [audience.root.explain(view)],
  };
}
