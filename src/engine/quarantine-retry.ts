import type { IdentityOp, IdentityPolicy } from '../identity/model.ts';
import type { MessageIdentity } from '../identity/resolve.ts';
import { identityOf } from '../identity/resolve.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { EnginePorts } from './ports.ts';
import { CursorMovedError } from './ports.ts';
import type { Bus } from './events.ts';
import { classifyFailure, describeFailure } from './failure.ts';
import type { AudienceWrites } from './model.ts';
import { emptyWrites } from './model.ts';

/** The position counting a processor's retry commits: a log batch checks it has not moved. */
export const retriesCursor = (cursorName: string): string => `${cursorName}.retries`;

/** The processor's evaluation, as the retry of quarantined events needs it. */
export interface RetryEngine {
  evaluate(
    events: readonly LoggedEvent[],
    identities: readonly MessageIdentity[],
    now: number,
  ): Promise<{ ops: IdentityOp[]; writes: AudienceWrites; before: Map<string, number> | undefined }>;
  afterCommit(writes: AudienceWrites, before: Map<string, number> | undefined): Promise<void>;
}

export interface RetryContext {
  store: EnginePorts;
  bus: Bus;
  policy: IdentityPolicy;
  cursorName: string;
  /** Marked events taken up per step, at most. */
  limit: number;
  now: () => number;
}

/**
 * Processes quarantined events an operator marked for retry, as late events: those that process
 * leave the quarantine, those that fail again stay with attempts + 1. The commit is guarded twice:
 * by the cursor (unchanged, so no batch from another process committed since the profiles were
 * read) and by each row's mark (cleared by the commit, so two processes never both apply one).
 * Returns how many marked events it settled; 0 when none were marked or another process won.
 */
export async function retryQuarantined(engine: RetryEngine, ctx: RetryContext): Promise<number> {
  const { store } = ctx;
  const marked = await store.quarantine.marked(ctx.limit);
  if (marked.length === 0) return 0;
  // An event no longer in the log (its profile was deleted) has nothing left to process.
  const gone = marked.flatMap((m) => (m.event === undefined ? [m.offset] : []));
  const events = marked.flatMap((m) => (m.event === undefined ? [] : [m.event]));
  try {
    await attempt(engine, ctx, events, gone);
  } catch (error) {
    if (error instanceof CursorMovedError) return 0;
    if (classifyFailure(error) === 'transient') throw error;
    // One of them fails while evaluated with the others: each alone finds which.
    await attempt(engine, ctx, [], gone);
    for (const event of events) {
      try {
        await attempt(engine, ctx, [event], []);
      } catch (own) {
        if (own instanceof CursorMovedError) return 0;
        if (classifyFailure(own) === 'transient') throw own;
        try {
          await commit(ctx, await positions(ctx), {
            failed: [{ event, error: own }],
            released: [],
            writes: emptyWrites(),
            ops: [],
          });
        } catch (lost) {
          if (lost instanceof CursorMovedError) return 0;
          throw lost;
        }
      }
    }
  }
  return marked.length;
}

/** Retries `events` together; an event whose identity cannot be read fails on its own. */
async function attempt(
  engine: RetryEngine,
  ctx: RetryContext,
  events: readonly LoggedEvent[],
  gone: readonly number[],
): Promise<void> {
  const failed: { event: LoggedEvent; error: unknown }[] = [];
  const readable: LoggedEvent[] = [];
  const identities: MessageIdentity[] = [];
  for (const event of events) {
    try {
      identities.push(identityOf(event, ctx.policy));
      readable.push(event);
    } catch (error) {
      if (classifyFailure(error) === 'transient') throw error;
      failed.push({ event, error });
    }
  }
  if (readable.length === 0 && failed.length === 0 && gone.length === 0) return;
  // Read before the profiles are: the commit checks that no batch moved the cursor since.
  const at = await positions(ctx);
  const { ops, writes, before } =
    readable.length === 0
      ? { ops: [], writes: emptyWrites(), before: undefined }
      : await engine.evaluate(readable, identities, ctx.now());
  await commit(ctx, at, { failed, released: [...gone, ...readable.map((e) => e.offset)], writes, ops });
  if (readable.length > 0) ctx.bus.emit('processor.released', { offsets: readable.map((e) => e.offset) });
  await engine.afterCommit(writes, before);
}

const positions = async (ctx: RetryContext) => ({
  cursor: await ctx.store.cursors.get(ctx.cursorName),
  retries: await ctx.store.cursors.get(retriesCursor(ctx.cursorName)),
});

async function commit(
  ctx: RetryContext,
  at: { cursor: number; retries: number },
  step: {
    failed: readonly { event: LoggedEvent; error: unknown }[];
    released: readonly number[];
    writes: AudienceWrites;
    ops: readonly IdentityOp[];
  },
): Promise<void> {
  const now = ctx.now();
  const failed = step.failed.map(({ event, error }) => ({
    event: { offset: event.offset, sourceId: event.sourceId, messageId: event.messageId, type: event.type },
    error: describeFailure(error),
    at: now,
  }));
  await ctx.store.commit({
    cursor: { name: ctx.cursorName, from: at.cursor, to: at.cursor },
    guards: [{ name: retriesCursor(ctx.cursorName), from: at.retries, to: at.retries + 1 }],
    identity: step.ops,
    audiences: step.writes,
    quarantine: {
      add: failed,
      claimed: [...step.released, ...failed.map((f) => f.event.offset)],
      released: step.released,
    },
  });
  for (const f of failed) ctx.bus.emit('processor.quarantined', { ...f.event, error: f.error, again: true });
}
