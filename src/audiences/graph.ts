// Audiences that reference others (`in_audience`) form a graph; it must be acyclic so every
// audience can be evaluated after the ones it reads, in one pass per profile.
import { audienceReferences, conditionPath } from './conditions.ts';
import type { AudienceDefinition } from './schema.ts';

export interface DependencyOrder {
  /** Indexes into the input, each audience after everything it references; definition order otherwise. */
  order: number[];
  /** Each cycle as the keys along it, first key repeated at the end: `['a', 'b', 'a']`. */
  cycles: string[][];
}

/** Depth-first over references in definition order; references to unknown keys are ignored here. */
export function dependencyOrder(definitions: readonly AudienceDefinition[]): DependencyOrder {
  const indexByKey = new Map(definitions.map((d, i) => [d.key, i]));
  const edges = definitions.map((d, i) =>
    audienceReferences(d, conditionPath(i)).flatMap(({ audience }) => {
      const target = indexByKey.get(audience);
      return target === undefined ? [] : [target];
    }),
  );
  const state = new Array<'new' | 'open' | 'done'>(definitions.length).fill('new');
  const order: number[] = [];
  const cycles: string[][] = [];
  const seenCycles = new Set<string>();
  const stack: number[] = [];

  const visit = (i: number): void => {
    state[i] = 'open';
    stack.push(i);
    for (const target of edges[i] ?? []) {
      if (state[target] === 'open') {
        const cycle = stack.slice(stack.indexOf(target)).map((j) => definitions[j]!.key);
        const id = [...cycle].sort().join(',');
        if (!seenCycles.has(id)) {
          seenCycles.add(id);
          cycles.push([...cycle, definitions[target]!.key]);
        }
      } else if (state[target] === 'new') {
        visit(target);
      }
    }
    stack.pop();
    state[i] = 'done';
    order.push(i);
  };
  definitions.forEach((_, i) => {
    if (state[i] === 'new') visit(i);
  });
  return { order, cycles };
}

/** Every audience that depends, directly or not, on one of `keys`, plus `keys` themselves. */
export function withDependents(
  definitions: readonly AudienceDefinition[],
  keys: Iterable<string>,
): Set<string> {
  const dependents = new Map<string, string[]>();
  definitions.forEach((d, i) => {
    for (const { audience } of audienceReferences(d, conditionPath(i))) {
      dependents.set(audience, [...(dependents.get(audience) ?? []), d.key]);
    }
  });
  const out = new Set<string>();
  const pending = [...keys];
  while (pending.length) {
    const key = pending.pop()!;
    if (out.has(key)) continue;
    out.add(key);
    pending.push(...(dependents.get(key) ?? []));
  }
  return out;
}

/** The audiences `key` refers to (`in_audience`) and those that refer to it, directly, in definition order. */
export function neighbours(
  definitions: readonly AudienceDefinition[],
  key: string,
): { dependencies: string[]; dependents: string[] } {
  const referencesOf = (d: AudienceDefinition, i: number) =>
    new Set(audienceReferences(d, conditionPath(i)).map((r) => r.audience));
  const index = definitions.findIndex((d) => d.key === key);
  const own = index < 0 ? new Set<string>() : referencesOf(definitions[index]!, index);
  return {
    dependencies: definitions.filter((d) => own.has(d.key)).map((d) => d.key),
    dependents: definitions.filter((d, i) => d.key !== key && referencesOf(d, i).has(key)).map((d) => d.key),
  };
}
