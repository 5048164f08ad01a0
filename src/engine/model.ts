import type { ProfileState } from '../audiences/index.ts';
import type { TraitValue } from '../identity/model.ts';

/** Why a membership changed: an event, time passing, another audience, a merge, a new definition. */
export type ChangeCause =
  | { kind: 'event'; offset: number; messageId: string; event: string }
  | { kind: 'window' }
  | { kind: 'audience'; audience: string }
  | { kind: 'merge'; into: string }
  | { kind: 'ranking' }
  | { kind: 'deleted' }
  | { kind: 'definition' };

/** A profile's place in an audience. Held-out members are in the audience but never sent anywhere. */
export interface Membership {
  audience: string;
  profileId: string;
  since: number;
  heldOut: boolean;
}

/** One enter or exit, as written to the outbox for destinations. */
export interface MembershipChange {
  audience: string;
  profileId: string;
  change: 'enter' | 'exit';
  /** When it took effect (ms): never earlier than the moment it was decided. */
  at: number;
  cause: ChangeCause;
  /** The audience definition's version that decided it. */
  version: string;
  heldOut: boolean;
}

/** What the engine knows of one profile between evaluations. */
export interface ProfileRecord {
  profileId: string;
  /** Undefined when the profile has never been evaluated. */
  state: ProfileState | undefined;
  traits: Record<string, TraitValue>;
  memberships: Map<string, Membership>;
  /** The rows as loaded, so a write that would change nothing is skipped; absent: write all. */
  stored?: StoredRows;
}

/** A profile's stored state (JSON text), wake-up and top-percent scores, as last committed. */
export interface StoredRows {
  state: string | undefined;
  wakeAt: number | null;
  /** Condition id → score. */
  scores: Map<string, number>;
}

/** Audience results of one batch, written in the same transaction as the identity changes. */
export interface AudienceWrites {
  /** `text` is the state's JSON when the engine already encoded it. */
  states: { profileId: string; state: ProfileState; wakeAt: number | null; text?: string }[];
  entered: Membership[];
  exited: { audience: string; profileId: string }[];
  changes: MembershipChange[];
  scores: { conditionId: string; profileId: string; value: number | undefined }[];
  /** Profiles merged away: their state and memberships go. */
  dropped: string[];
}

/** Whether a commit of `writes` can move a top-percent threshold: it wrote or dropped scores. */
export const movesScores = (writes: AudienceWrites): boolean =>
  writes.scores.length > 0 || writes.dropped.length > 0;

export const emptyWrites = (): AudienceWrites => ({
  states: [],
  entered: [],
  exited: [],
  changes: [],
  scores: [],
  dropped: [],
});

export function describeCause(cause: ChangeCause): string {
  switch (cause.kind) {
    case 'event':
      return `event ${cause.event} (${cause.messageId})`;
    case 'window':
      return 'window elapsed';
    case 'audience':
      return `audience ${cause.audience}`;
    case 'merge':
      return `merged into ${cause.into}`;
    case 'definition':
      return 'definition changed';
    case 'ranking':
      return 'ranking refreshed';
    case 'deleted':
      return 'profile deleted';
  }
}
