import type { Identifier, IdentifierKey, IdentifierKind, IdentitySnapshot } from './model.ts';

interface ProfileEntry {
  id: string;
  createdAt: number;
  identifiers: Map<IdentifierKind, Set<string>>;
}

/** The identities touched by one batch, loaded once and then updated in memory as messages resolve. */
export class WorkingSet {
  /** Per identifier kind: value → owning profile. */
  private readonly owners = new Map<IdentifierKind, Map<string, string>>();
  private readonly profiles = new Map<string, ProfileEntry>();

  constructor(snapshot: IdentitySnapshot = { profiles: [] }) {
    for (const p of snapshot.profiles) {
      this.addProfile(p.id, p.createdAt);
      for (const identifier of p.identifiers) this.attach(p.id, identifier);
    }
  }

  ownerOf(key: IdentifierKey): string | undefined {
    return this.owners.get(key.kind)?.get(key.value);
  }

  createdAt(profileId: string): number {
    return this.entry(profileId).createdAt;
  }

  count(profileId: string, kind: IdentifierKind): number {
    return this.entry(profileId).identifiers.get(kind)?.size ?? 0;
  }

  /** True when the two profiles' identifiers together stay within every limit. */
  fitsTogether(a: string, b: string, limits: Record<IdentifierKind, number>): boolean {
    const pa = this.entry(a).identifiers;
    const pb = this.entry(b).identifiers;
    for (const [kind, values] of pb) {
      const union = new Set([...(pa.get(kind) ?? []), ...values]);
      if (union.size > limits[kind]) return false;
    }
    return true;
  }

  addProfile(id: string, createdAt: number): void {
    this.profiles.set(id, { id, createdAt, identifiers: new Map() });
  }

  attach(profileId: string, identifier: Identifier): void {
    const entry = this.entry(profileId);
    let values = entry.identifiers.get(identifier.kind);
    if (!values) entry.identifiers.set(identifier.kind, (values = new Set()));
    values.add(identifier.value);
    let owners = this.owners.get(identifier.kind);
    if (!owners) this.owners.set(identifier.kind, (owners = new Map()));
    owners.set(identifier.value, profileId);
  }

  /** Forgets a deleted profile: its identifiers are free to start new profiles. */
  remove(profileId: string): void {
    const entry = this.entry(profileId);
    for (const [kind, values] of entry.identifiers)
      for (const value of values) this.owners.get(kind)?.delete(value);
    this.profiles.delete(profileId);
  }

  /** Moves every identifier of `from` to `into`; `from` no longer exists afterwards. */
  merge(from: string, into: string): void {
    const source = this.entry(from);
    for (const [kind, values] of source.identifiers) {
      for (const value of values) this.attach(into, { kind, value });
    }
    this.profiles.delete(from);
  }

  private entry(id: string): ProfileEntry {
    const entry = this.profiles.get(id);
    if (!entry) throw new Error(`profile ${id} is not in the working set`);
    return entry;
  }
}
