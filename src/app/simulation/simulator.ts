// The pipeline `simulate` and `handoff test` drive: an app in memory on a virtual clock that moves
// only when the caller says so, reporting each membership change as it is committed.
import type { App } from '../app.ts';
import { createApp } from '../app.ts';
import type { Config } from '../../config/load.ts';
import type { IdentifierKey, ProfileView } from '../../identity/model.ts';
import { eventTime } from '../../ingest/timestamps.ts';
import { ManualClock } from '../../shared/clock.ts';
import { HandoffError } from '../../shared/result.ts';
import { createSqliteStore } from '../../store/sqlite/index.ts';
import type { AudienceVerdict } from '../../engine/explain.ts';
import { explainProfile } from '../../engine/explain.ts';
import type { MembershipChange } from '../../engine/model.ts';
import { withReadCache } from './store-cache.ts';
import { LogWindow, ProfileIds, simulationStep } from './simulation-batch.ts';
import { describeCause } from '../../engine/model.ts';
import type { SimulatedChange, SimulationInput, SimulationNotice } from './model.ts';

/** The source simulated messages are recorded under when the config has none. */
export const SIMULATION_SOURCE = 'simulate';

/** Profile ids a simulation assigns, in creation order: p1, p2, … (holdouts hash them). */
export function simulatedProfileIds(): () => string {
  return new ProfileIds().next;
}

/** A message to receive at `t` (ms): its stated time, or the clock's when it states none. */
export interface TimedInput {
  input: SimulationInput;
  t: number;
}

const WAKE_BATCH = 1000;

export const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * One simulated pipeline. Each method returns the changes it committed, in order; the caller
 * moves time forward: `timersThrough(t)` fires what is due up to t, `receive` ingests a message
 * at the clock's reading and processes it. No timers are started.
 */
export class Simulator {
  private readonly app: App;
  private readonly clock = new ManualClock(0);
  private readonly sourceId: string;
  private readonly pending: MembershipChange[] = [];
  /** Who each profile was when last printed: a profile merged away leaves under the identifiers it had. */
  private readonly known = new Map<string, Identifiers>();
  private readonly rankingEvery: number | undefined;
  private refreshAt: number | null = null;
  private readonly ids = new ProfileIds();

  constructor(
    private readonly config: Config,
    private readonly notify: (notice: SimulationNotice) => void = () => {},
  ) {
    this.app = createApp({
      config,
      store: withReadCache(createSqliteStore(':memory:')),
      clock: this.clock,
      newProfileId: this.ids.next,
    });
    this.sourceId = config.sources[0]?.id ?? SIMULATION_SOURCE;
    this.app.bus.on('engine.changes', (e) => this.pending.push(...e.changes));
    // serve re-ranks top-percent audiences on a timer; here the refresh runs at the first multiple
    // of the interval after anything that may have moved a score, so it is as late as serve's at most.
    this.rankingEvery =
      this.app.audiences.compiled.topPercentRankings.length > 0
        ? Math.max(1, config.engine.rankingRefreshMs)
        : undefined;
  }

  now(): number {
    return this.clock.now();
  }

  /** Moves the clock to `t`, never back. */
  advance(t: number): void {
    this.clock.set(Math.max(this.clock.now(), t));
  }

  /** Fires every timer due at or before `limit` (wake-ups, the ranking refresh), each at its own instant. */
  async timersThrough(limit: number): Promise<SimulatedChange[]> {
    const out: SimulatedChange[] = [];
    for (;;) {
      const wake = await this.app.store.audiences.nextWakeAt();
      const wakeFirst = wake !== null && (this.refreshAt === null || wake <= this.refreshAt);
      const next = wakeFirst ? wake : this.refreshAt;
      if (next === null || next > limit) return out;
      this.advance(next);
      if (!wakeFirst) {
        this.refreshAt = null;
        await this.app.processor.refreshRankings();
        out.push(...(await this.flush()));
        continue;
      }
      const evaluated = await this.app.processor.processWakeups(WAKE_BATCH);
      out.push(...(await this.flush()));
      this.scoresMayHaveMoved();
      const again = await this.app.store.audiences.nextWakeAt();
      // Everything due was evaluated and something is due again at once: it would never end.
      if (again !== null && again <= this.clock.now() && evaluated < WAKE_BATCH) {
        throw new HandoffError(
          'simulation_stuck',
          `the engine scheduled a wake-up at ${iso(again)}, not after the wake-up it was evaluating (${iso(this.clock.now())})`,
        );
      }
    }
  }

  /** Ingests one message at the clock's reading and processes it on its own. */
  async receive(input: SimulationInput): Promise<SimulatedChange[]> {
    // The log holds this one message past the cursor: one batch takes it, no second read is needed.
    if (await this.ingest(input)) await this.app.processor.processBatch();
    const changes = await this.flush();
    this.scoresMayHaveMoved();
    return changes;
  }

  /**
   * Receives each message at its time, with every timer due before it fired first: the changes
   * `receive` would make one message at a time, but the messages between two timers are
   * committed together where that changes nothing (see simulationStep).
   */
  async receiveAll(run: readonly TimedInput[]): Promise<SimulatedChange[]> {
    const out: SimulatedChange[] = [];
    let last = this.clock.now();
    // Ingest reads only the clock, so every message is logged at its own time first.
    const instants: number[] = [];
    for (const { input, t } of run) {
      this.clock.set(Math.max(this.clock.now(), t));
      if (await this.ingest(input)) instants.push(this.clock.now());
    }
    const end = this.clock.now();
    const { store, audiences: set, bus } = this.app;
    const policy = this.config.identity;
    const log = await LogWindow.read(store, set, policy, instants.length);
    const step = { store, set, bus, ids: this.ids, policy, log };
    for (let done = 0; done < instants.length;) {
      this.clock.set(last);
      out.push(...(await this.timersThrough(instants[done]!)));
      const bound = await this.nextTimer(instants[done]!);
      let n = 1;
      while (done + n < instants.length && instants[done + n]! < bound) n++;
      const taken = await simulationStep(step, instants.slice(done, done + n));
      // Every stored message is in the log past the cursor: finding none means something else moved it.
      if (taken === 0)
        throw new HandoffError('simulation_log', 'the event log holds fewer messages than were stored');
      done += taken;
      last = instants[done - 1]!;
      this.clock.set(last);
      out.push(...(await this.flush()));
      this.scoresMayHaveMoved();
    }
    this.clock.set(last);
    out.push(...(await this.timersThrough(end)));
    this.advance(end);
    return out;
  }

  /** The audiences the profile known by `key` is in now, as committed; undefined when no such profile. */
  async membersOf(key: IdentifierKey): Promise<{ profileId: string; audiences: Set<string> } | undefined> {
    const profile = await this.app.store.identity.findProfile(key);
    if (profile === undefined) return undefined;
    const record = (await this.app.store.audiences.load([profile.id])).get(profile.id);
    return { profileId: profile.id, audiences: new Set(record?.memberships.keys() ?? []) };
  }

  /** Why the profile is or is not in each audience now: what `handoff explain` says. */
  explain(profileId: string): Promise<AudienceVerdict[]> {
    return explainProfile(this.app.store, this.app.audiences, profileId, this.clock.now());
  }

  stop(): Promise<void> {
    return this.app.stop();
  }

  /** Logs a message at the clock's reading; whether it was stored (not refused, not a repeat). */
  private async ingest(input: SimulationInput): Promise<boolean> {
    const result = await this.app.ingest.ingest(this.sourceId, [withoutClientSkew(input.message)]);
    for (const r of result.rejected) this.notify({ ...lineOf(input), kind: 'rejected', message: r.message });
    if (result.duplicates > 0)
      this.notify({ ...lineOf(input), kind: 'duplicate', message: duplicateMessage(input) });
    return result.accepted - result.duplicates > 0;
  }

  /** The next timer after a message received at `instant`: a wake-up, or the ranking refresh it would set. */
  private async nextTimer(instant: number): Promise<number> {
    const wake = (await this.app.store.audiences.nextWakeAt()) ?? Infinity;
    const refresh =
      this.refreshAt ??
      (this.rankingEvery === undefined
        ? Infinity
        : (Math.floor(instant / this.rankingEvery) + 1) * this.rankingEvery);
    return Math.min(wake, refresh);
  }

  private scoresMayHaveMoved(): void {
    if (this.rankingEvery !== undefined && this.refreshAt === null)
      this.refreshAt = (Math.floor(this.clock.now() / this.rankingEvery) + 1) * this.rankingEvery;
  }

  private async flush(): Promise<SimulatedChange[]> {
    const changes = this.pending.splice(0);
    const fresh = new Map<string, Identifiers>();
    const out: SimulatedChange[] = [];
    for (const change of changes) {
      let who =
        change.cause.kind === 'merge' ? this.known.get(change.profileId) : fresh.get(change.profileId);
      if (who === undefined) {
        // getProfile follows a merge to the survivor.
        who = identifiersOf(await this.app.store.identity.getProfile(change.profileId));
        fresh.set(change.profileId, who);
      }
      if (change.cause.kind !== 'merge') this.known.set(change.profileId, who);
      out.push(render(change, who));
    }
    return out;
  }
}

const lineOf = (input: SimulationInput): { line?: number } =>
  input.line === undefined ? {} : { line: input.line };

/**
 * A simulation has no client clock to correct: without `sentAt`, ingest keeps the stated time
 * instead of shifting it by how late (in virtual time) the message arrived.
 */
function withoutClientSkew(message: Record<string, unknown>): Record<string, unknown> {
  if (message.sentAt === undefined || !eventTime(message, 0, Infinity).ok) return message;
  const copy = { ...message };
  delete copy.sentAt;
  return copy;
}

function duplicateMessage(input: SimulationInput): string {
  const id = input.message.messageId;
  return typeof id === 'string'
    ? `messageId ${JSON.stringify(id)} was already ingested; a repeat is ignored, as Segment's retries are`
    : 'an identical message was already ingested; a repeat is ignored';
}

type Identifiers = Pick<SimulatedChange, 'userId' | 'anonymousId' | 'email'>;

/** The profile's first identifier of each kind; for email, the address destinations receive. */
function identifiersOf(profile: ProfileView | undefined): Identifiers {
  const first = (kind: 'userId' | 'anonymousId' | 'email') =>
    profile?.identifiers.find((i) => i.kind === kind);
  const userId = first('userId')?.value;
  const anonymousId = first('anonymousId')?.value;
  const email = first('email');
  const address = email?.address ?? email?.value;
  return {
    ...(userId !== undefined && { userId }),
    ...(anonymousId !== undefined && { anonymousId }),
    ...(address !== undefined && { email: address }),
  };
}

function render(change: MembershipChange, who: Identifiers): SimulatedChange {
  return {
    at: iso(change.at),
    audience: change.audience,
    ...who,
    change: change.change,
    cause: describeCause(change.cause),
    heldOut: change.heldOut,
  };
}
