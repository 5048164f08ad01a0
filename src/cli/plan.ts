import type { AudienceInspector } from '../app/commands.ts';
import { audienceInspector } from '../app/commands.ts';
import type { Plan } from '../engine/backfill.ts';
import { backfill } from '../engine/backfill.ts';
import { runningServe } from '../app/serve-mark.ts';
import { underLeases, withService } from './app-from-config.ts';
import type { Io } from './config-path.ts';

async function label(inspector: AudienceInspector, profileId: string): Promise<string> {
  const profile = await inspector.store.identity.getProfile(profileId);
  const id =
    profile?.identifiers.find((i) => i.kind === 'userId') ??
    profile?.identifiers.find((i) => i.kind === 'email');
  return id ? (id.address ?? id.value) : profileId;
}

async function print(inspector: AudienceInspector, plan: Plan, io: Io, applied: boolean): Promise<void> {
  const { added, changed, removed } = plan.diff;
  io.out(
    `definitions: ${added.length} added, ${changed.length} changed, ${removed.length} removed; ${plan.profiles} profiles ${applied ? 're-evaluated' : 'would be re-evaluated'}`,
  );
  io.out('');
  io.out('| audience | status | enter | exit | held out | sample entering | sample exiting |');
  io.out('|---|---|---:|---:|---:|---|---|');
  for (const l of plan.lines) {
    const enter = (await Promise.all(l.sampleEnter.map((p) => label(inspector, p)))).join(', ');
    const exit = (await Promise.all(l.sampleExit.map((p) => label(inspector, p)))).join(', ');
    io.out(`| ${l.audience} | ${l.status} | ${l.enter} | ${l.exit} | ${l.heldOut} | ${enter} | ${exit} |`);
  }
}

/** `handoff plan`: who would enter and exit each audience if the configured definitions were applied now. */
export function plan(options: { config?: string }, io: Io): Promise<number> {
  return withService(options, io, audienceInspector, async (inspector) => {
    const result = await backfill(inspector.store, inspector.audiences, inspector.clock.now(), {
      apply: false,
    });
    await print(inspector, result, io, false);
    return 0;
  });
}

/**
 * `handoff apply`: rebuilds audience state from the event log under the configured definitions.
 * Refused beside a running serve: its processor evaluates under the definitions it started with,
 * so state rebuilt under others would be overwritten batch by batch under the old ones.
 */
export function apply(options: { config?: string }, io: Io): Promise<number> {
  return withService(options, io, audienceInspector, async (inspector) => {
    const serving = runningServe(inspector.databasePath);
    if (serving !== undefined) {
      io.err(
        `a serve (pid ${serving.pid}) is running on ${inspector.databasePath}` +
          (serving.state === 'rebuilding' ? ', rebuilding audience state already' : '') +
          ': restart it with `handoff serve --apply` (it keeps accepting events while it rebuilds), or stop it and run `handoff apply` again',
      );
      return 2;
    }
    const lease = { claim: inspector.claim, names: ['processor'] as const, command: 'handoff apply', io };
    return underLeases(lease, async () => {
      await inspector.drain();
      const result = await backfill(inspector.store, inspector.audiences, inspector.clock.now(), {
        apply: true,
      });
      await print(inspector, result, io, true);
      return 0;
    });
  });
}
