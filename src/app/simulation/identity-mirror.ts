// Who owns which identifier in a simulation, kept in memory beside its store: every step resolves
// a few events against the profiles owning their identifiers, and asking the store each time cost
// more than resolving them.
import type {
  Identifier,
  IdentifierKey,
  IdentitySnapshot,
  IdentityOp,
  ProfileIdentities,
} from '../../identity/model.ts';

interface Owned extends Identifier {
  /** When it was attached (the store's `first_seen`). */
  at: number;
}

/**
 * The identity rows of a store that started empty, following every identity change committed to
 * it: `snapshot` answers as the store's does (every profile owning one of the keys, with all of
 * that profile's identifiers, oldest first). Only complete if it sees every commit from the start.
 */
export class IdentityMirror {
  /** `kind value` → owning profile. */
  private readonly owners = new Map<string, string>();
  private readonly profiles = new Map<string, { createdAt: number; identifiers: Owned[] }>();

  snapshot(keys: readonly IdentifierKey[]): IdentitySnapshot {
    const found = new Map<string, ProfileIdentities>();
    for (const key of keys) {
      const id = this.owners.get(keyOf(key));
      if (id === undefined || found.has(id)) continue;
      const profile = this.profiles.get(id)!;
      // Shared, not copied: the resolver reads a snapshot once, before anything changes it.
      found.set(id, { id, createdAt: profile.createdAt, identifiers: profile.identifiers });
    }
    return { profiles: [...found.values()] };
  }

  /** Applies a committed batch's identity changes, in order. */
  apply(ops: readonly IdentityOp[]): void {
    for (const op of ops) {
      switch (op.op) {
        case 'create':
          this.profiles.set(op.profileId, { createdAt: op.at, identifiers: [] });
          break;
        case 'attach':
          this.profiles.get(op.profileId)!.identifiers.push({ ...identifier(op.identifier), at: op.at });
          this.owners.set(keyOf(op.identifier), op.profileId);
          break;
        case 'merge': {
          const into = this.profiles.get(op.into)!;
          const from = this.profiles.get(op.from)?.identifiers ?? [];
          for (const i of from) this.owners.set(keyOf(i), op.into);
          into.identifiers = [...into.identifiers, ...from].sort(byFirstSeen);
          this.retire(op.from);
          break;
        }
        case 'delete':
          for (const i of this.profiles.get(op.profileId)?.identifiers ?? []) this.owners.delete(keyOf(i));
          this.retire(op.profileId);
          break;
        default:
        // Traits, invalid identifiers and events own no identifier.
      }
    }
  }

  /** A profile merged away or deleted keeps its row, without identifiers: no key finds it again. */
  private retire(profileId: string): void {
    const profile = this.profiles.get(profileId);
    if (profile !== undefined) profile.identifiers = [];
  }
}

const keyOf = (k: IdentifierKey): string => `${k.kind} ${k.value}`;

/** As the store reads an identifier back: an address only where one was recorded. */
const identifier = (i: Identifier): Identifier =>
  i.address === undefined
    ? { kind: i.kind, value: i.value }
    : { kind: i.kind, value: i.value, address: i.address };

/** The store's order: first seen, then kind, then value. */
function byFirstSeen(a: Owned, b: Owned): number {
  if (a.at !== b.at) return a.at - b.at;
  const ka = `${a.kind}\u0000${a.value}`;
  const kb = `${b.kind}\u0000${b.value}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
