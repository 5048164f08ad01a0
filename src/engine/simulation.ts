// The whole pipeline in memory on a virtual clock that follows the events' timestamps: what
// `handoff simulate` prints, and what tests and the dashboard replay journeys with.
import { createApp } from '../app/app.ts';
import type { Config } from '../config/load.ts';
import type { ProfileView } from '../identity/model.ts';
import { eventTime, parseTime } from '../ingest/timestamps.ts';
import { ManualClock } from '../shared/clock.ts';
import { HandoffError } from '../shared/result.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { MembershipChange } from './model.ts';
import { describeCause } from './model.ts';

/** One membership change as `handoff simulate` prints it; absent identifiers are left out. */
export interface SimulatedChange {
  /** When the change took effect, ISO-8601 UTC. */
  at: string;
  audience: string;
  userId?: string;
  anonymousId?: string;
  /** The address destinations would receive. */
  email?: string;
  change: 'enter' | 'exit';
  /** Why, as describeCause renders it: `event Product Added (m1)`, `window elapsed`, … */
  cause: string;
  heldOut: boolean;
}

/** One message to simulate; `line` (1-based) is where it came from, for reports. */
export interface SimulationInput {
  line?: number;
  message: Record<string, unknown>;
}

/** A message the simulation did not run, and why. */
export interface SimulationNotice {
  line?: number;
  /** `rejected`: bad input; `duplicate`: its messageId was seen before; `after_until`: stamped after `until`. */
  kind: 'rejected' | 'duplicate' | 'after_until';
  message: string;
}

export interface SimulationOptions {
  /**
   * The last simulated instant (ms): later wake-ups and ranking refreshes do not fire and
   * later-stamped messages are not ingested. Default: until no wake-up is pending, at most SETTLE_LIMIT_MS after the last message.
   */
  until?: number;
  /** Told about each message that was not simulated, in input order. */
  onNotice?: (notice: SimulationNotice) => void;
}

/** How far past the last message wake-ups fire by default: long enough for any "older than" audience to settle. */
export const SETTLE_LIMIT_MS = 400 * 24 * 3_600_000;

/** The source simulated messages are recorded under when the config has none. */
export const SIMULATION_SOURCE = 'simulate';

/** Profile ids a simulation assigns, in creation order: p1, p2, … (holdouts hash them). */
export function simulatedProfileIds(): () => string {
  let n = 0;
  return () => `p${++n}`;
}

/**
 * Runs `inputs` through ingest, identity and the audience engine in file order and yields every
 * membership change as it happens. Each message is received at its own event time (or when the
 * clock already passed it, late); every wake-up due before then fires first, at its exact instant.
 * No timers are started: time moves only when the next message or wake-up says so.
 */
export async function* simulate(
  config: Config,
  inputs: AsyncIterable<SimulationInput> | Iterable<SimulationInput>,
  options: SimulationOptions = {},
): AsyncGenerator<SimulatedChange> {
  const clock = new ManualClock(0);
  const app = createApp({
    config,
    store: createSqliteStore(':memory:'),
    clock,
    newProfileId: simulatedProfileIds(),
  });
  const sourceId = config.sources[0]?.id ?? SIMULATION_SOURCE;
  const until = options.until ?? Infinity;
  const notify = options.onNotice ?? (() => {});
  const pending: MembershipChange[] = [];
  app.bus.on('engine.changes', (e) => pending.push(...e.changes));

  // Who each profile was when last printed: a profile merged away leaves its audiences under the
  // identifiers it had, not the survivor's (getProfile already follows the merge).
  const known = new Map<string, Identifiers>();
  const flush = async function* (): AsyncGenerator<SimulatedChange> {
    const changes = pending.splice(0);
    const fresh = new Map<string, Identifiers>();
    for (const change of changes) {
      let who = change.cause.kind === 'merge' ? known.get(change.profileId) : fresh.get(change.profileId);
      if (who === undefined) {
        who = identifiersOf(await app.store.identity.getProfile(change.profileId));
        fresh.set(change.profileId, who);
      }
      if (change.cause.kind !== 'merge') known.set(change.profileId, who);
      yield render(change, who);
    }
  };

  // serve re-ranks top-percent audiences on a timer; here the refresh runs at the first multiple of
  // the interval after anything that may have moved a score, so it is as late as serve's at most.
  const rankingEvery =
    app.audiences.compiled.topPercentRankings.length > 0
      ? Math.max(1, config.engine.rankingRefreshMs)
      : undefined;
  let refreshAt: number | null = null;
  const scoresMayHaveMoved = () => {
    if (rankingEvery !== undefined && refreshAt === null)
      refreshAt = (Math.floor(clock.now() / rankingEvery) + 1) * rankingEvery;
  };

  /** Fires every timer due at or before `limit` (wake-ups, the ranking refresh), each at its own instant. */
  const timersThrough = async function* (limit: number): AsyncGenerator<SimulatedChange> {
    for (;;) {
      const wake = await app.store.audiences.nextWakeAt();
      const wakeFirst = wake !== null && (refreshAt === null || wake <= refreshAt);
      const next = wakeFirst ? wake : refreshAt;
      if (next === null || next > limit) return;
      clock.set(Math.max(clock.now(), next));
      if (!wakeFirst) {
        refreshAt = null;
        await app.processor.refreshRankings();
        yield* flush();
        continue;
      }
      const evaluated = await app.processor.processWakeups(WAKE_BATCH);
      yield* flush();
      scoresMayHaveMoved();
      const again = await app.store.audiences.nextWakeAt();
      // Everything due was evaluated and something is due again at once: it would never end.
      if (again !== null && again <= clock.now() && evaluated < WAKE_BATCH) {
        throw new HandoffError(
          'simulation_stuck',
          `the engine scheduled a wake-up at ${iso(again)}, not after the wake-up it was evaluating (${iso(clock.now())})`,
        );
      }
    }
  };

  const receive = async function* (input: SimulationInput): AsyncGenerator<SimulatedChange> {
    const result = await app.ingest.ingest(sourceId, [withoutClientSkew(input.message)]);
    for (const r of result.rejected) notify({ ...lineOf(input), kind: 'rejected', message: r.message });
    if (result.duplicates > 0)
      notify({ ...lineOf(input), kind: 'duplicate', message: duplicateMessage(input) });
    await app.processor.drain();
    yield* flush();
    scoresMayHaveMoved();
  };

  try {
    // Messages with no time of their own wait for the first one that has one, so they do not land in 1970.
    let started = false;
    const leading: SimulationInput[] = [];
    for await (const input of inputs) {
      const stated = statedTime(input.message);
      if (stated === undefined && !started) {
        leading.push(input);
        continue;
      }
      const t = stated ?? clock.now();
      if (t > until) {
        notify({ ...lineOf(input), kind: 'after_until', message: `stamped ${iso(t)}, after ${iso(until)}` });
        continue;
      }
      started = true;
      yield* timersThrough(t);
      clock.set(Math.max(clock.now(), t));
      for (const early of leading.splice(0)) yield* receive(early);
      yield* receive(input);
    }
    if (!started && leading.length > 0) {
      clock.set(Number.isFinite(until) ? until : 0);
      for (const early of leading) yield* receive(early);
      started = true;
    }
    if (started) yield* timersThrough(options.until ?? clock.now() + SETTLE_LIMIT_MS);
  } finally {
    await app.stop();
  }
}

const WAKE_BATCH = 1000;

const iso = (ms: number): string => new Date(ms).toISOString();

const lineOf = (input: SimulationInput): { line?: number } =>
  input.line === undefined ? {} : { line: input.line };

/**
 * The message's own time (ms), or undefined when it states none. An unreadable time counts as
 * none here; ingest rejects the message with the reason.
 */
function statedTime(message: Record<string, unknown>): number | undefined {
  if (!eventTime(message, 0, Infinity).ok) return undefined;
  return parseTime(message.timestamp) ?? parseTime(message.originalTimestamp) ?? parseTime(message.sentAt);
}

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
