// Test helper: the reference audiences from examples/handoff.yaml, validated and compiled, so
// tests pin the behaviour of the definitions operators actually copy.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { compileAudiences, type CompiledAudiences } from '../compile.ts';
import type { AudienceDefinition } from '../schema.ts';
import { validateAudiences } from '../validate.ts';

export const EXAMPLES_PATH = new URL('../../../examples/handoff.yaml', import.meta.url);

/** The raw `audiences:` list, as written. */
export function loadExampleAudiencesRaw(): unknown {
  return (parse(readFileSync(EXAMPLES_PATH, 'utf8')) as { audiences?: unknown }).audiences;
}

/** The example audiences, validated; throws with every problem if they are not valid. */
export function loadExampleAudiences(order: 'dependencies' | 'file' = 'dependencies'): AudienceDefinition[] {
  const result = validateAudiences(loadExampleAudiencesRaw(), { order });
  if (!result.ok) {
    const details = result.error.problems.map((p) => `${p.at}: ${p.message}`).join('\n');
    throw new Error(`examples/handoff.yaml audiences are invalid:\n${details}`);
  }
  return result.value;
}

export const compileExampleAudiences = (): CompiledAudiences => compileAudiences(loadExampleAudiences());
