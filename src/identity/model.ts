/** The kinds of identifier a profile can be known by. */
export const IDENTIFIER_KINDS = ['userId', 'email', 'phone', 'anonymousId'] as const;
export type IdentifierKind = (typeof IDENTIFIER_KINDS)[number];

/** An identifier in its match form (email: the match key after policies; phone: E.164). */
export interface IdentifierKey {
  kind: IdentifierKind;
  value: string;
}

export interface Identifier extends IdentifierKey {
  /** For email: the address destinations receive (trimmed, lowercased, never policy-altered). */
  address?: string;
}

/** What the resolver needs to know of one stored profile. */
export interface ProfileIdentities {
  id: string;
  createdAt: number;
  identifiers: Identifier[];
}

export interface IdentitySnapshot {
  profiles: ProfileIdentities[];
}

/** What linked two profiles: a message with userId and anonymousId, an alias, or a shared email/phone. */
export type MergeCause = 'identify' | 'alias' | 'email' | 'phone';

/** One identity change, applied in order within a batch's transaction. */
export type IdentityOp =
  | { op: 'create'; profileId: string; at: number }
  | { op: 'attach'; profileId: string; identifier: Identifier; at: number }
  | { op: 'merge'; from: string; into: string; cause: MergeCause; at: number; offset: number }
  /** The profile's data is deleted (its identifiers, traits and events); its id is kept as deleted. */
  | { op: 'delete'; profileId: string; at: number }
  | { op: 'trait'; profileId: string; name: string; value: unknown; ts: number }
  | { op: 'invalid'; profileId: string; kind: 'email' | 'phone'; value: string; reason: string }
  | { op: 'event'; profileId: string; offset: number };

/** How identity resolution behaves: the `identity` section of handoff.yaml. */
export interface IdentityPolicy {
  email: { stripPlusTag: boolean; removeGmailDots: boolean };
  phone: { defaultRegion: string };
  /** The most identifiers of each kind one profile may hold. */
  limits: Record<IdentifierKind, number>;
  /** Which identifier decides the profile when a message's identifiers disagree. */
  priority: readonly IdentifierKind[];
  mergeOn: readonly MergeCause[];
}

export interface TraitValue {
  value: unknown;
  /** Timestamp of the event that set it (ms); a later-stamped value wins. */
  ts: number;
}

export interface MergeRecord {
  from: string;
  into: string;
  cause: MergeCause;
  at: number;
}

/** A profile as the admin API and CLI show it. */
export interface ProfileView {
  id: string;
  createdAt: number;
  identifiers: Identifier[];
  traits: Record<string, TraitValue>;
  merges: MergeRecord[];
  invalid: { email: number; phone: number };
}

export { DELETION_EVENT } from '../ingest/event.ts';

export const keyOf = (k: IdentifierKey): string => `${k.kind}:${k.value}`;
