// The compiled form of a condition: each node reads the profile state at `now` and answers
// with its value and the next instant that value can change by time alone.
import type { ProfileState, TrackerSpec } from './trackers.ts';

/** What evaluation needs from outside the event stream. */
export interface EvaluationContext {
  /** The profile's current trait value, or undefined if unset. */
  trait(name: string): unknown;
  /** The score a profile needs to be in a top_percent condition's audience; undefined until computed. */
  topPercentThreshold(conditionId: string): number | undefined;
  /** Membership of an audience fed by a source rather than a condition (default: not a member). */
  sourceMember?(audienceKey: string): boolean;
}

/** One audience's answer for one profile at one instant. */
export interface AudienceResult {
  member: boolean;
  /** The next instant (ms) membership can change by time alone; null if only an event can change it. */
  nextChangeAt: number | null;
}

export interface NodeResult {
  value: boolean;
  nextChangeAt: number | null;
}

/** Why a profile is or is not in an audience, node by node, in operators' words. */
export interface Explanation {
  text: string;
  value: boolean;
  nextChangeAt?: number | null;
  children: Explanation[];
}

export interface View {
  state: ProfileState;
  ctx: EvaluationContext;
  now: number;
  /** Results of audiences earlier in dependency order, from this same evaluation. */
  results: ReadonlyMap<string, AudienceResult>;
  explainAudience(key: string): Explanation | undefined;
}

export interface CompiledNode {
  evaluate(view: View): NodeResult;
  explain(view: View): Explanation;
  /** The node's explanation phrased as its negation ("no Order Completed since ..."), where that reads better. */
  explainNegated?(view: View): Explanation;
}

/** Registers the state a leaf needs and returns the key to read it under. */
export type Track = (spec: TrackerSpec) => string;

export const yesNo = (value: boolean): string => (value ? 'yes' : 'no');

export function leafExplanation(text: string, result: NodeResult, details: string[]): Explanation {
  const suffix = details.length ? ` (${details.join(', ')})` : '';
  return {
    text: `${text}: ${yesNo(result.value)}${suffix}`,
    value: result.value,
    nextChangeAt: result.nextChangeAt,
    children: [],
  };
}

const earliest = (times: (number | null)[]): number | null =>
  times.reduce<number | null>((min, t) => (t !== null && (min === null || t < min) ? t : min), null);

/**
 * `all` / `any`: the earliest child change, except that a child which already decides the
 * answer (false under `all`, true under `any`) and cannot change by time pins it until an event.
 */
export function combine(kind: 'all' | 'any', children: CompiledNode[]): CompiledNode {
  const decisive = kind === 'any';
  const evaluate = (view: View): NodeResult => {
    const results = children.map((child) => child.evaluate(view));
    const value = kind === 'all' ? results.every((r) => r.value) : results.some((r) => r.value);
    const pinned = results.some((r) => r.value === decisive && r.nextChangeAt === null);
    return { value, nextChangeAt: pinned ? null : earliest(results.map((r) => r.nextChangeAt)) };
  };
  return {
    evaluate,
    explain: (view) => {
      const result = evaluate(view);
      return {
        text: `${kind === 'all' ? 'all of' : 'any of'}: ${yesNo(result.value)}`,
        value: result.value,
        nextChangeAt: result.nextChangeAt,
        children: children.map((child) => child.explain(view)),
      };
    },
  };
}

export function negate(child: CompiledNode): CompiledNode {
  const evaluate = (view: View): NodeResult => {
    const result = child.evaluate(view);
    return { value: !result.value, nextChangeAt: result.nextChangeAt };
  };
  return {
    evaluate,
    explain: (view) => {
      if (child.explainNegated) return child.explainNegated(view);
      const result = evaluate(view);
      return {
        text: `not: ${yesNo(result.value)}`,
        value: result.value,
        nextChangeAt: result.nextChangeAt,
        children: [child.explain(view)],
      };
    },
  };
}
