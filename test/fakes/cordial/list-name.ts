import type { Outcome } from './envelope.ts';
import { GENERIC, fail, ok } from './envelope.ts';

// Messages from the swagger's `ListError` / `ListValidationError`.
export const LIST_NAME_MESSAGES = {
  cid: 'cid is not allowed for list names.',
  pattern: 'Name must contain only letters, numbers, and dashes. Should not exceed 128 characters',
  unique: 'Name must be unique',
  required: 'Name is required',
} as const;

/** What a list name is checked against: names already taken and whether `_` is tolerated. */
export interface ListNameContext {
  /** Existing list names, minus the list being renamed. */
  listNames: ReadonlySet<string>;
  /** Contact attribute keys; Cordial keeps lists and attributes in one namespace. */
  attributeNames: ReadonlySet<string>;
  /** Cordial's own KB example uses `safe_drivers`, but its error text forbids `_`; default false. */
  allowUnderscore: boolean;
}

/** Checks a proposed list name against Cordial's documented rules; 422 `GENERIC_ERROR_KEY` on failure. */
export function checkListName(name: unknown, ctx: ListNameContext): Outcome<string> {
  if (typeof name !== 'string' || name === '') return fail(422, GENERIC, LIST_NAME_MESSAGES.required);
  if (name.toLowerCase() === 'cid') return fail(422, GENERIC, LIST_NAME_MESSAGES.cid);
  const pattern = ctx.allowUnderscore ? /^[A-Za-z0-9_-]{1,128}$/ : /^[A-Za-z0-9-]{1,128}$/;
  if (!pattern.test(name)) return fail(422, GENERIC, LIST_NAME_MESSAGES.pattern);
  if (ctx.listNames.has(name) || ctx.attributeNames.has(name)) {
    return fail(422, GENERIC, LIST_NAME_MESSAGES.unique);
  }
  return ok(name);
}
