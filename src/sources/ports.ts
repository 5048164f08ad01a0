import type { AudienceStore, IdentityStore } from '../engine/ports.ts';

// What Handoff keeps about audiences fed by a source: each poll's outcome, and removals held
// back until an operator confirms them.

/** One poll of a source, as recorded. */
export interface PollRecord {
  audience: string;
  at: number;
  /** applied: changes logged; held: enters logged, a large removal held back; failed: nothing changed. */
  outcome: 'applied' | 'held' | 'failed';
  /** Members the source listed (complete polls), or how many were read before it failed. */
  members: number;
  entered: number;
  exited: number;
  /** Exits held back for confirmation. */
  held: number;
  error: string | undefined;
}

/** Exits a poll wanted but were held back, because they would remove too much of the audience. */
export interface HeldRemoval {
  audience: string;
  at: number;
  /** The audience's size when the poll ran. */
  size: number;
  /** The profiles the poll would remove. */
  profileIds: string[];
}

export interface SourceStore {
  recordPoll(poll: PollRecord): Promise<void>;
  /** The latest poll of each audience. */
  lastPolls(): Promise<PollRecord[]>;
  /** The polls of one audience at or after `since`, oldest first. */
  polls(audience: string, since: number): Promise<PollRecord[]>;
  /** Replaces the audience's held removal. */
  hold(removal: HeldRemoval): Promise<void>;
  held(audience: string): Promise<HeldRemoval | undefined>;
  allHeld(): Promise<HeldRemoval[]>;
  release(audience: string): Promise<void>;
}

/** The parts of the store a source reads and writes: its own records, profiles and memberships. */
export interface SourcePorts {
  sources: SourceStore;
  identity: IdentityStore;
  audiences: AudienceStore;
}
