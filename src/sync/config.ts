import { z } from 'zod';
import type { AudienceDefinition } from '../audiences/index.ts';
import type { AudienceProblem } from '../audiences/validate.ts';

/** Cordial's list names: letters, digits and dashes, at most 128, never `cid`. */
export const CORDIAL_LIST_NAME = /^[A-Za-z0-9-]{1,128}$/;

export const cordialTargetSchema = z.strictObject({
  /** The Cordial list this audience is kept in step with. */
  list: z.string(),
  /** `email`, or a secondary contact key of the account such as `custID`. Default `email`. */
  identifier: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_.-]*$/, 'a contact key such as email or custID')
    .default('email'),
  /** Where a non-email key's value comes from: `userId` or `traits.<name>`. Default `userId`. */
  value: z
    .string()
    .regex(/^(userId|traits\.[A-Za-z0-9_]+)$/, 'userId or traits.<name>')
    .default('userId'),
});
export type CordialTarget = z.output<typeof cordialTargetSchema>;

export const audienceDestinationSchema = z.strictObject({ cordial: cordialTargetSchema });

/** An audience's destination, resolved: which list, keyed how. */
export interface AudienceTarget {
  audience: string;
  destination: 'cordial';
  target: CordialTarget;
}

/**
 * Checks every audience's destinations: the shape, Cordial's list naming rules, one audience per
 * list, and no clash with a contact attribute. Problems name the audience and the field.
 */
export function checkDestinations(
  audiences: readonly AudienceDefinition[],
  contactAttributes: readonly string[],
): { targets: AudienceTarget[]; problems: AudienceProblem[] } {
  const problems: AudienceProblem[] = [];
  const targets: AudienceTarget[] = [];
  const owners = new Map<string, string>();
  const attributes = new Set(contactAttributes.map((a) => a.toLowerCase()));
  audiences.forEach((audience, i) => {
    (audience.destinations ?? []).forEach((raw, j) => {
      const at = `audiences[${i}].destinations[${j}]`;
      const parsed = audienceDestinationSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        problems.push({
          code: 'invalid_destination',
          at: `${at}${issue.path.map((p) => `.${String(p)}`).join('')}`,
          message: `${audience.key}: ${issue.message}`,
          hint: 'write destinations: [{ cordial: { list: my-list, identifier: email } }]',
        });
        return;
      }
      const { list } = parsed.data.cordial;
      const where = `${at}.cordial.list`;
      const fail = (message: string, hint: string) =>
        problems.push({ code: 'invalid_list_name', at: where, message: `${audience.key}: ${message}`, hint });
      if (!CORDIAL_LIST_NAME.test(list)) {
        fail(
          `list name "${list}" is not allowed by Cordial`,
          'use letters, digits and dashes only, at most 128 characters',
        );
      } else if (list.toLowerCase() === 'cid') {
        fail('"cid" is reserved by Cordial', 'choose another list name');
      } else if (attributes.has(list.toLowerCase())) {
        fail(
          `list name "${list}" is also a contact attribute`,
          'Cordial needs list names distinct from attribute names',
        );
      } else if (owners.has(list)) {
        fail(
          `list "${list}" is already used by audience ${owners.get(list)}`,
          'give each audience its own list',
        );
      } else {
        owners.set(list, audience.key);
        targets.push({ audience: audience.key, destination: 'cordial', target: parsed.data.cordial });
      }
    });
  });
  return { targets, problems };
}
