import type { DefinitionDiff, Plan } from '../engine/backfill.ts';
import { backfill, definitionDiff, isEmptyDiff } from '../engine/backfill.ts';
import type { App, AppLogger } from './app.ts';
import { markServe, runningServe } from './serve-mark.ts';

export type DefinitionsCheck =
  | {
      ready: true;
      /** Set when the definitions changed and `apply` asked for a rebuild. */
      rebuild?: DefinitionDiff;
    }
  | { ready: false; message: string };

const describe = (diff: DefinitionDiff): string =>
  [
    ...diff.added.map((k) => `${k} (added)`),
    ...diff.changed.map((k) => `${k} (changed)`),
    ...diff.removed.map((k) => `${k} (removed)`),
  ].join(', ');

/**
 * Audience state must match the definitions it is evaluated under. A database with no profiles
 * takes the configured definitions as they are; otherwise a change needs a rebuild first: with
 * `apply: true` the answer says so (`rebuild`), and `rebuildAudiences` runs it.
 */
export async function checkDefinitions(app: App, options: { apply: boolean }): Promise<DefinitionsCheck> {
  const diff = await definitionDiff(app.store, app.audiences);
  if (isEmptyDiff(diff)) return { ready: true };
  if ((await app.store.audiences.profileCount()) === 0) {
    await app.store.audiences.recordVersions(app.audiences.versions, app.clock.now());
    return { ready: true };
  }
  if (options.apply) return { ready: true, rebuild: diff };
  const serving = runningServe(app.config.storage.sqlitePath);
  const hint =
    serving?.state === 'rebuilding'
      ? `A running serve (pid ${serving.pid}) is applying them now; try again once it logs that audience state is rebuilt.`
      : 'Review with `handoff plan`, then run `handoff apply` (or start with `handoff serve --apply`).';
  return {
    ready: false,
    message: `audience definitions changed since they were last applied: ${describe(diff)}.\n${hint}`,
  };
}

/** How often a rebuild logs its progress (ms). */
const PROGRESS_EVERY_MS = 2_000;

/**
 * Rebuilds audience state from the event log under the configured definitions: processes what
 * the log holds, then re-evaluates every profile and records the versions, logging progress.
 * Nothing else may process events meanwhile (the processor would evaluate under definitions the
 * state does not yet match, and a batch read before a chunk's commit would overwrite it after),
 * so callers start the processor, scheduler and sync only once this resolves.
 */
export async function rebuildAudiences(
  app: App,
  logger: AppLogger,
  options: { signal?: AbortSignal } = {},
): Promise<Plan> {
  const started = performance.now();
  const total = await app.store.audiences.profileCount();
  logger.info(
    { rebuilding: true, profiles: total },
    `audience definitions changed: rebuilding audience state for ${total} profiles; events are accepted and processed once it is done`,
  );
  await app.processor.drain();
  let loggedAt = performance.now();
  const plan = await backfill(app.store, app.audiences, app.clock.now(), {
    apply: true,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (profiles) => {
      if (performance.now() - loggedAt < PROGRESS_EVERY_MS) return;
      loggedAt = performance.now();
      logger.info(
        { rebuilding: true, profiles, of: total },
        `rebuilding audience state: ${profiles} of ${total} profiles`,
      );
    },
  });
  const summary = plan.lines.map((l) => `${l.audience} +${l.enter}/-${l.exit}`).join(', ');
  logger.info(
    { rebuilding: false, audiences: plan.lines, ms: Math.round(performance.now() - started) },
    `audience state rebuilt under the changed definitions: ${summary}`,
  );
  return plan;
}

/**
 * Starts processing (the processor, wake-ups, sync, polls and checks) once audience state
 * matches the configured definitions: at once, or after the rebuild the check asked for. The
 * database's serve mark says which, for commands run beside it.
 */
export async function startWhenReady(
  app: App,
  check: { rebuild?: DefinitionDiff },
  options: { logger: AppLogger; signal?: AbortSignal },
): Promise<void> {
  // The serve mark sits beside the SQLite file (apply and store copy refuse while it says a serve
  // runs there); a PostgreSQL store keeps no file to mark.
  const mark = (state: 'rebuilding' | 'serving') => {
    if (app.config.storage.postgres === undefined)
      markServe(app.config.storage.sqlitePath, state, app.clock.now());
  };
  if (check.rebuild) {
    mark('rebuilding');
    await rebuildAudiences(app, options.logger, options.signal ? { signal: options.signal } : {});
  }
  options.signal?.throwIfAborted();
  mark('serving');
  app.start();
}
