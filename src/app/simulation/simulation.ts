// The whole pipeline in memory on a virtual clock that follows the events' timestamps: what
// `handoff simulate` prints, and what tests and the dashboard replay journeys with.
import type { Config } from '../../config/load.ts';
import { eventTime, parseTime } from '../../ingest/timestamps.ts';
import type { SimulatedChange, SimulationInput, SimulationNotice } from './model.ts';
import type { TimedInput } from './simulator.ts';
import { iso, Simulator } from './simulator.ts';

export { SIMULATION_SOURCE, simulatedProfileIds } from './simulator.ts';

export type { SimulatedChange, SimulationInput, SimulationNotice } from './model.ts';

export interface SimulationOptions {
  /**
   * The last simulated instant (ms): later wake-ups and ranking refreshes do not fire and
   * later-stamped messages are not ingested. Default: until no wake-up is pending, at most SETTLE_LIMIT_MS after the last message.
   */
  until?: number;
  /** Told about each message that was not simulated, in input order. */
  onNotice?: (notice: SimulationNotice) => void;
  /**
   * Process and commit each message on its own instead of the messages between two timers
   * together; the output is the same (the benchmark checks it), only slower.
   */
  oneAtATime?: boolean;
}

/** Messages read ahead and received together, at most: bounds memory, and how long output waits. */
const RUN = 5_000;

/** How far past the last message wake-ups fire by default: long enough for any "older than" audience to settle. */
export const SETTLE_LIMIT_MS = 400 * 24 * 3_600_000;

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
  const until = options.until ?? Infinity;
  const notify = options.onNotice ?? (() => {});
  const sim = new Simulator(config, notify);
  try {
    // Messages with no time of their own wait for the first one that has one, so they do not land in 1970.
    let started = false;
    let clock = 0;
    const leading: SimulationInput[] = [];
    let run: TimedInput[] = [];
    const receive = async (batch: TimedInput[]): Promise<SimulatedChange[]> => {
      if (!options.oneAtATime) return sim.receiveAll(batch);
      const out: SimulatedChange[] = [];
      for (const { input, t } of batch) {
        out.push(...(await sim.timersThrough(t)));
        sim.advance(t);
        out.push(...(await sim.receive(input)));
      }
      return out;
    };
    for await (const input of inputs) {
      const stated = statedTime(input.message);
      if (stated === undefined && !started) {
        leading.push(input);
        continue;
      }
      const t = stated ?? clock;
      if (t > until) {
        notify({ ...lineOf(input), kind: 'after_until', message: `stamped ${iso(t)}, after ${iso(until)}` });
        continue;
      }
      started = true;
      clock = Math.max(clock, t);
      for (const early of leading.splice(0)) run.push({ input: early, t });
      run.push({ input, t });
      if (run.length >= RUN) {
        yield* await receive(run);
        run = [];
      }
    }
    if (run.length > 0) yield* await receive(run);
    if (!started && leading.length > 0) {
      sim.advance(Number.isFinite(until) ? until : 0);
      for (const early of leading) yield* await sim.receive(early);
      started = true;
    }
    if (started) yield* await sim.timersThrough(options.until ?? sim.now() + SETTLE_LIMIT_MS);
  } finally {
    await sim.stop();
  }
}

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
