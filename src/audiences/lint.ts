// Hygiene warnings from the field's hard-won rules. None of these stop an audience from
// running; `handoff validate` prints them with their fix.
import { walkConditions, type ConditionVisit } from './conditions.ts';
import { describeCondition } from './describe.ts';
import type { AudienceDefinition, Condition } from './schema.ts';
import type { AudienceProblem } from './validate.ts';

export interface LintOptions {
  /** Events that mean the customer converted. Default `['Order Completed']`. */
  conversionEvents?: readonly string[];
  /** Events that follow a conversion (refunds, cancellations): audiences on them are not intent. Default `['Order Refunded', 'Order Cancelled']`. */
  postConversionEvents?: readonly string[];
  /** The operator naming convention. Default `^[A-Z]+ \| .+` (`CI | Cart | 0-4h | No Purchase`). */
  namePattern?: RegExp;
  /** How many audiences may sync to destinations before it is more than a team can act on. Default 8. */
  maxSyncedAudiences?: number;
}

const DEFAULTS = {
  conversionEvents: ['Order Completed'],
  postConversionEvents: ['Order Refunded', 'Order Cancelled'],
  namePattern: /^[A-Z]+ \| .+/,
  maxSyncedAudiences: 8,
};

const visitsOf = (d: AudienceDefinition): ConditionVisit[] =>
  d.condition === undefined ? [] : walkConditions(d.condition, 'condition');

const isWindowed = (c: Condition): boolean =>
  (c.type === 'event' || c.type === 'last') && (c.within !== undefined || c.between !== undefined);

const hasUpperBound = (c: Condition): boolean =>
  c.type === 'event' && c.count !== undefined && ['lt', 'lte', 'eq', 'neq'].includes(c.count.op);

/**
 * True for leaves that, once true, stay true whatever happens: lifetime counts and sums that
 * only grow. An audience made only of these, with no `not`, has no way out.
 */
function onlyEverEnters(c: Condition): boolean {
  const rising = (op: string) => op === 'gt' || op === 'gte';
  if (c.type === 'event') return c.within === undefined && c.between === undefined && !hasUpperBound(c);
  if (c.type === 'aggregate' && c.within === undefined) {
    if (c.fn === 'min') return !rising(c.compare.op) && c.compare.op !== 'eq' && c.compare.op !== 'neq';
    return c.fn !== 'avg' && rising(c.compare.op);
  }
  return c.type === 'all' || c.type === 'any';
}

/** Does the audience keep converters out: a negated conversion, "none since purchase", or a negated purchasers audience? */
function excludesConversion(
  d: AudienceDefinition,
  byKey: Map<string, AudienceDefinition>,
  conversions: Set<string>,
): boolean {
  const usesConversion = (audience: AudienceDefinition, seen: Set<string>): boolean =>
    visitsOf(audience).some(({ condition: c }) => {
      if (c.type === 'in_audience') {
        const target = byKey.get(c.audience);
        return (
          target !== undefined &&
          !seen.has(c.audience) &&
          usesConversion(target, new Set([...seen, c.audience]))
        );
      }
      return 'event' in c && conversions.has(c.event);
    });
  return visitsOf(d).some(({ condition: c, negated }) => {
    if (c.type === 'since_last' && !negated && conversions.has(c.since.event)) return true;
    if (hasUpperBound(c) && !negated && 'event' in c && conversions.has(c.event)) return true;
    if (!negated) return false;
    if (c.type === 'in_audience') {
      const target = byKey.get(c.audience);
      return target !== undefined && usesConversion(target, new Set([c.audience]));
    }
    return c.type !== 'not' && 'event' in c && conversions.has(c.event);
  });
}

/**
 * Warnings for validated definitions. Pass them in file order (`validateAudiences(raw, { order: 'file' })`)
 * so each `at` points into the file.
 */
export function lintAudiences(
  definitions: readonly AudienceDefinition[],
  options: LintOptions = {},
  root = 'audiences',
): AudienceProblem[] {
  const conversions = new Set(options.conversionEvents ?? DEFAULTS.conversionEvents);
  const notIntent = new Set([
    ...conversions,
    ...(options.postConversionEvents ?? DEFAULTS.postConversionEvents),
  ]);
  const namePattern = options.namePattern ?? DEFAULTS.namePattern;
  const maxSynced = options.maxSyncedAudiences ?? DEFAULTS.maxSyncedAudiences;
  const byKey = new Map(definitions.map((d) => [d.key, d]));
  const conversionName = [...conversions][0] ?? 'Order Completed';
  const warnings: AudienceProblem[] = [];

  definitions.forEach((d, i) => {
    const at = `${root}[${i}]`;
    const visits = visitsOf(d);
    const intent = visits.find(
      ({ condition: c, negated }) => !negated && isWindowed(c) && 'event' in c && !notIntent.has(c.event),
    );
    if (intent && !excludesConversion(d, byKey, conversions)) {
      const event = 'event' in intent.condition ? intent.condition.event : '';
      warnings.push({
        code: 'intent_without_conversion_exclusion',
        at: `${at}.condition`,
        message: `${d.key}: intent audience (${describeCondition(intent.condition)}) has no conversion exclusion`,
        hint: `add not: { type: since_last, event: ${conversionName}, since: ${event} } (or not in a purchasers audience), or retargeting hits converters`,
      });
    }
    const leaves = visits.filter(({ condition: c }) => c.type !== 'all' && c.type !== 'any');
    if (
      d.condition !== undefined &&
      d.ttl !== null &&
      leaves.every(({ condition: c }) => onlyEverEnters(c))
    ) {
      warnings.push({
        code: 'audience_never_exits',
        at: `${at}.condition`,
        message: `${d.key}: once in, a profile can never exit (no time window and no negative condition)`,
        hint: 'add a window (within: 30d) or an exit (not: ...); if it is meant to be permanent, say so with ttl: none',
      });
    }
    if (!namePattern.test(d.name)) {
      warnings.push({
        code: 'name_convention',
        at: `${at}.name`,
        message: `${d.key}: name "${d.name}" does not match the naming convention ${String(namePattern)}`,
        hint: 'name it like "CI | Cart | 0-4h | No Purchase": a team prefix, then parts separated by " | "',
      });
    }
  });

  const synced = definitions.filter((d) => (d.destinations?.length ?? 0) > 0);
  if (synced.length > maxSynced) {
    warnings.push({
      code: 'too_many_synced_audiences',
      at: root,
      message: `${synced.length} audiences sync to destinations; more than ${maxSynced} is more than a team can act on`,
      hint: 'keep the others as building blocks without destinations, or retire the ones nobody uses',
    });
  }
  return warnings;
}
