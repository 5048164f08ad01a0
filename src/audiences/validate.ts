// Turns the `audiences:` list from handoff.yaml into validated definitions in dependency order,
// or into problems that each say where (`audiences[3].condition.all[1].within`) and how to fix.
import { z } from 'zod';
import { fail, ok, type Problem, type Result } from '../shared/result.ts';
import { audienceReferences, conditionPath } from './conditions.ts';
import { dependencyOrder } from './graph.ts';
import { audienceSchema, type AudienceDefinition } from './schema.ts';

/** A problem in audience definitions: `at` is a path into the config, `hint` says how to fix it. */
export interface AudienceProblem extends Problem {
  at: string;
  hint: string;
}

export interface AudiencesInvalid extends Problem {
  code: 'invalid_audiences';
  problems: AudienceProblem[];
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

export function formatPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, segment) => {
    if (typeof segment === 'number') return `${out}[${segment}]`;
    const name = String(segment);
    return IDENTIFIER.test(name) ? `${out}.${name}` : `${out}[${JSON.stringify(name)}]`;
  }, root);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

const DURATION_HINT = 'write an integer and a unit (ms, s, m, h, d, w), e.g. 4h, 7d or 1h30m';

function hintFor(field: string, issue: z.core.$ZodIssue): string {
  if (issue.path.length === 0)
    return 'write audiences as a list: audiences: [{ key: ..., name: ..., condition: ... }]';
  if (issue.code === 'invalid_value') return `use one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'unrecognized_keys')
    return 'remove the field or fix its spelling (names are case-sensitive, e.g. olderThan)';
  if (field === 'ttl') return `${DURATION_HINT}, or none for lists people stay on`;
  if (field === 'cadence') return `${DURATION_HINT}, or realtime`;
  if (['within', 'olderThan', 'activationDelay'].includes(field)) return DURATION_HINT;
  if (field === 'between') return 'write between: [A, B] with A shorter than B, e.g. [4h, 24h]';
  if (field === 'count' || field === 'compare') return 'write exactly one comparison, e.g. { gte: 2 }';
  if (field === 'key') return 'use lowercase letters, digits and underscores, e.g. cart_0_4h';
  if (field === 'holdout') return 'a percentage from 0 to 100';
  if (field === 'property') return 'name the numeric event property to aggregate, e.g. property: revenue';
  return 'compare with the reference audiences in examples/handoff.yaml';
}

function toProblem(issue: z.core.$ZodIssue, input: unknown, root: string): AudienceProblem {
  const at = formatPath(root, issue.path);
  const field = String(issue.path[issue.path.length - 1] ?? '');
  const value = valueAt(input, issue.path);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && typeof issue.discriminator === 'string') {
    const options =
      'options' in issue && Array.isArray(issue.options) ? issue.options.map(String).join(', ') : '';
    const what = issue.discriminator === 'type' ? 'a condition type' : 'an operator';
    return {
      code: 'invalid_audience',
      at,
      message:
        value === undefined ? `missing ${issue.discriminator}` : `${JSON.stringify(value)} is not ${what}`,
      hint:
        issue.discriminator === 'type'
          ? `set type to one of ${options}; all, any and not can also be written { all: [...] }, { any: [...] }, { not: {...} }`
          : `set op to one of ${options}`,
    };
  }
  let message = issue.message;
  if (issue.code === 'invalid_union') {
    // A union of e.g. `none` and a duration: the duration branch says what is wrong.
    const custom = issue.errors.flat().find((inner) => inner.code === 'custom');
    if (custom) message = custom.message;
  } else if (issue.code === 'unrecognized_keys') {
    message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  }
  if (value === undefined && issue.path.length > 0 && issue.code !== 'custom') message = `missing ${field}`;
  else if (issue.code === 'invalid_type' && issue.expected === 'int')
    message = `${field} must be a whole number`;
  return { code: 'invalid_audience', at, message, hint: hintFor(field, issue) };
}

/** Keys unique, references resolvable, no cycles. Assumes each definition already parsed. */
export function checkReferences(
  definitions: readonly AudienceDefinition[],
  root = 'audiences',
): AudienceProblem[] {
  const problems: AudienceProblem[] = [];
  const firstIndex = new Map<string, number>();
  definitions.forEach((d, i) => {
    const first = firstIndex.get(d.key);
    if (first === undefined) firstIndex.set(d.key, i);
    else
      problems.push({
        code: 'duplicate_audience_key',
        at: `${root}[${i}].key`,
        message: `duplicate audience key ${d.key} (also ${root}[${first}])`,
        hint: 'give each audience its own key; keys are stable identifiers, so rename the newer one',
      });
  });
  const references = definitions.map((d, i) => audienceReferences(d, conditionPath(i, root)));
  references.flat().forEach(({ audience, at }) => {
    if (!firstIndex.has(audience))
      problems.push({
        code: 'unknown_audience_reference',
        at,
        message: `references unknown audience ${audience}`,
        hint: `define an audience with key ${audience}, or reference an existing key`,
      });
  });
  if (problems.length > 0) return problems;
  for (const cycle of dependencyOrder(definitions).cycles) {
    const from = firstIndex.get(cycle[0]!)!;
    const reference = references[from]!.find((r) => r.audience === cycle[1]);
    problems.push({
      code: 'audience_cycle',
      at: reference?.at ?? `${root}[${from}]`,
      message: `audiences reference each other in a cycle: ${cycle.join(' → ')}`,
      hint: 'break the cycle: an audience cannot depend on itself, directly or through others',
    });
  }
  return problems;
}

export interface ValidateOptions {
  /** Path prefix for problems. Default `audiences`. */
  root?: string;
  /** `dependencies` (default): each audience after those it references, ready to compile. `file`: as written, for lints whose paths index the file. */
  order?: 'dependencies' | 'file';
}

/** Validates the `audiences:` list; on success returns the definitions, by default in dependency order. */
export function validateAudiences(
  input: unknown,
  { root = 'audiences', order = 'dependencies' }: ValidateOptions = {},
): Result<AudienceDefinition[], AudiencesInvalid> {
  const parsed = z.array(audienceSchema).safeParse(input);
  const problems = parsed.success
    ? checkReferences(parsed.data, root)
    : parsed.error.issues.map((issue) => toProblem(issue, input, root));
  if (!parsed.success || problems.length > 0) {
    const first = problems[0];
    return fail({
      code: 'invalid_audiences',
      message: `${problems.length} problem${problems.length === 1 ? '' : 's'} in audiences${first ? `; first: ${first.at}: ${first.message}` : ''}`,
      at: root,
      problems,
    });
  }
  if (order === 'file') return ok(parsed.data);
  return ok(dependencyOrder(parsed.data).order.map((i) => parsed.data[i]!));
}
