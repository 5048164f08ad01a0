// The shapes a simulation and a journey share: inputs, what a run reports, and journey steps.

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

/**
 * One step, as the journey runs it. `name` is the one written beside the step (`name: first-order`);
 * `alias` the name it answers to without one: its shorthand (`purchase`), or a track step's event.
 */
export type JourneyStep = (
  | { kind: 'track'; event: string; properties: Record<string, unknown> }
  | { kind: 'identify'; traits: Record<string, unknown> }
  | { kind: 'wait'; ms: number }
) & { name?: string; alias?: string };
