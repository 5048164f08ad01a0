// Walking a condition tree with the paths operators see in error messages
// (`audiences[3].condition.all[1]`), shared by validation, lints and the compiler.
import { assertNever } from '../shared/result.ts';
import type { AudienceDefinition, Condition } from './schema.ts';

export interface ConditionVisit {
  condition: Condition;
  /** JSON-style path, e.g. `audiences[3].condition.all[1]`. */
  path: string;
  /** True under an odd number of `not`s: the node's truth keeps people out rather than in. */
  negated: boolean;
}

export function childrenOf(condition: Condition, path: string): { condition: Condition; path: string }[] {
  switch (condition.type) {
    case 'all':
      return condition.all.map((child, i) => ({ condition: child, path: `${path}.all[${i}]` }));
    case 'any':
      return condition.any.map((child, i) => ({ condition: child, path: `${path}.any[${i}]` }));
    case 'not':
      return [{ condition: condition.not, path: `${path}.not` }];
    case 'event':
    case 'last':
    case 'since_last':
    case 'aggregate':
    case 'trait':
    case 'in_audience':
    case 'top_percent':
      return [];
    default:
      return assertNever(condition, 'condition');
  }
}

/** Every node of the tree, parents before children. */
export function walkConditions(condition: Condition, path: string, negated = false): ConditionVisit[] {
  const visits: ConditionVisit[] = [{ condition, path, negated }];
  const childNegated = condition.type === 'not' ? !negated : negated;
  for (const child of childrenOf(condition, path))
    visits.push(...walkConditions(child.condition, child.path, childNegated));
  return visits;
}

/** The path of an audience's condition inside the audiences list. */
export const conditionPath = (index: number, root = 'audiences'): string => `${root}[${index}].condition`;

/** The audiences an audience's condition refers to, with where each reference is written. */
export function audienceReferences(
  definition: AudienceDefinition,
  path: string,
): { audience: string; at: string }[] {
  if (definition.condition === undefined) return [];
  return walkConditions(definition.condition, path).flatMap(({ condition, path: at }) =>
    condition.type === 'in_audience' ? [{ audience: condition.audience, at: `${at}.audience` }] : [],
  );
}
