import type { Plan } from '../engine/backfill.ts';
import { backfill, definitionDiff, isEmptyDiff } from '../engine/backfill.ts';
import type { App } from './app.ts';

export type DefinitionsCheck = { ready: true; applied?: Plan } | { ready: false; message: string };

/**
 * Audience state must match the definitions it is evaluated under. A database with no profiles
 * takes the configured definitions as they are; otherwise a change needs a backfill first, which
 * `apply: true` runs (as `serve --apply` and `handoff apply` do).
 */
export async function checkDefinitions(app: App, options: { apply: boolean }): Promise<DefinitionsCheck> {
  const diff = await definitionDiff(app.store, app.audiences);
  if (isEmptyDiff(diff)) return { ready: true };
  if ((await app.store.audiences.profileCount()) === 0) {
    await app.store.audiences.recordVersions(app.audiences.versions, app.clock.now());
    return { ready: true };
  }
  if (options.apply) {
    await app.processor.drain();
    return {
      ready: true,
      applied: await backfill(app.store, app.audiences, app.clock.now(), { apply: true }),
    };
  }
  const list = [
    ...diff.added.map((k) => `${k} (added)`),
    ...diff.changed.map((k) => `${k} (changed)`),
    ...diff.removed.map((k) => `${k} (removed)`),
  ];
  return {
    ready: false,
    message:
      `audience definitions changed since they were last applied: ${list.join(', ')}.\n` +
      'Review with `handoff plan`, then run `handoff apply` (or start with `handoff serve --apply`).',
  };
}
