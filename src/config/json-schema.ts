import { z } from 'zod';
import { audienceSchema } from '../audiences/index.ts';
import { configSchema } from './schema.ts';

/** The JSON Schema of handoff.yaml, from the same schemas that validate it, for editors. */
export function configJsonSchema(): Record<string, unknown> {
  const full = configSchema.extend({ audiences: z.array(audienceSchema).default([]) });
  return {
    ...z.toJSONSchema(full, { io: 'input', unrepresentable: 'any' }),
    title: 'Handoff configuration (handoff.yaml)',
  };
}
