import type { App } from '../app/app.ts';
import type { Plan } from '../engine/backfill.ts';
import { backfill } from '../engine/backfill.ts';
import { runningServe } from '../app/serve-mark.ts';
import { withApp } from './app-from-config.ts';
import type { Io } from './config-path.ts';

async function label(app: App, profileId: string): Promise<string> {
  const profile = await app.store.identity.getProfile(profileId);
  const id =
    profile?.identifiers.find((i) => i.kind === 'userId') ??
    profile?.identifiers.find((i) => i.kind === 'email');
  return id ? (id.address ?? id.value) : profileId;
}

async function print(app: App, plan: Plan, io: Io, applied: boolean): Promise<void> {
  const { added, changed, removed } = plan.diff;
  io.out(
    `definitions: ${added.length} added, ${changed.length} changed, ${removed.length} removed; ${plan.profiles} profiles ${applied ? 're-evaluated' : 'would be re-evaluated'}`,
  );
  io.out('');
  io.out('| audience | status | enter | exit | held out | sample entering | sample exiting |');
  io.out('|---|---|---:|---:|---:|---|---|');
  for (const l of plan.lines) {
    const enter = (await Promise.all(l.sampleEnter.map((p) => label(app, p)))).join(', ');
    const exit = (await Promise.all(l.sampleExit.map((p) => label(app, p)))).join(', ');
    io.out(`| ${l.audience} | ${l.status} | ${l.enter} | ${l.exit} | ${l.heldOut} | ${enter} | ${exit} |`);
  }
}

/** `handoff plan`: who would enter and exit each audience if the configured definitions were applied now. */
export function plan(options: { config?: string }, io: Io): Promise<number> {
  return withApp(options, io, async (app) => {
    const result = await backfill(app.store, app.audiences, app.clock.now(), { apply: false });
    await print(app, result, io, false);
    return 0;
  });
}

/**
 * `handoff apply`: rebuilds audience state from the event log under the configured definitions.
 * Refused beside a running serve: its processor evaluates under the definitions it started with,
 * so state rebuilt under others would be overwritten batch by batch under the old ones.
 */
export function apply(options: { config?: string }, io: Io): Promise<number> {
  return withApp(options, io, async (app) => {
    const serving = runningServe(app.config.storage.sqlitePath);
    if (serving !== undefined) {
      io.err(
        `a serve (pid ${serving.pid}) is running on ${app.config.storage.sqlitePath}` +
          (serving.state === 'rebuilding' ? ', rebuilding audience state already' : '') +
          ': restart it with `handoff serve --apply` (it keeps accepting events while it rebuilds), or stop it and run `handoff apply` again',
      );
      return 2;
    }
    await app.processor.drain();
    const result = await backfill(app.store, app.audiences, app.clock.now(), { apply: true });
    await print(app, result, io, true);
    return 0;
  });
}
