// What a simulation reads back from its store again and again, kept in memory beside it: a
// simulation evaluates a handful of profiles at every step, wake-up and ranking refresh, and
// reading their rows back each time cost more than evaluating them.
import type { ProfileState } from '../../audiences/index.ts';
import type { IdentifierKey, IdentityOp, ProfileView } from '../../identity/model.ts';
import type { AudienceWrites, Membership, ProfileRecord } from '../../engine/model.ts';
import type { BatchCommit, Store } from '../../store/ports.ts';
import { IdentityMirror } from './identity-mirror.ts';

/**
 * The store with four of its reads answered from memory where they can be, each exactly as the
 * store would answer:
 * - `identity.snapshot`: from a mirror of the identity rows (the store must start empty).
 * - `audiences.load`: each record is read once, then kept as the store reads it back after each
 *   commit (state as its JSON parses, memberships in audience order, scores as written). A record
 *   the cache does not follow (a trait set, a merge, a deletion, a new profile) is read again.
 * - `audiences.threshold`: kept until a commit writes or drops a score.
 * - `identity.getProfile`: kept until an identity change touches the profile (any merge or
 *   deletion forgets them all, as a merge redirects ids).
 * Every write goes to the store as before. During a simulation only `commit` and
 * `quarantine.dropWakeup` write these rows, and both pass through here.
 */
export function withReadCache(store: Store): Store {
  const records = new Map<string, ProfileRecord>();
  const thresholds = new Map<string, number | undefined>();
  const views = new Map<string, ProfileView | undefined>();
  const load = async (ids: readonly string[]): Promise<Map<string, ProfileRecord>> => {
    const missing = ids.filter((id) => !records.has(id));
    if (missing.length > 0)
      for (const [id, record] of await store.audiences.load(missing)) records.set(id, record);
    return new Map(ids.map((id) => [id, records.get(id)!]));
  };
  const threshold = async (conditionId: string, percent: number): Promise<number | undefined> => {
    const key = `${percent}\u0000${conditionId}`;
    if (!thresholds.has(key)) thresholds.set(key, await store.audiences.threshold(conditionId, percent));
    return thresholds.get(key);
  };
  const getProfile = async (id: string): Promise<ProfileView | undefined> => {
    if (views.has(id)) return views.get(id);
    const view = await store.identity.getProfile(id);
    // Kept only under its own id: a merged-away id's answer is its survivor's, which changes with it.
    if (view === undefined || view.id === id) views.set(id, view);
    return view;
  };
  const mirror = new IdentityMirror();
  const followIdentity = (ops: readonly IdentityOp[]): void => {
    mirror.apply(ops);
    forgetChanged(records, ops);
    forgetViews(views, ops);
  };
  const commit = async (batch: BatchCommit): Promise<void> => {
    await store.commit(batch);
    followIdentity(batch.identity);
    follow(records, batch.audiences);
    if (batch.audiences.scores.length > 0 || batch.audiences.dropped.length > 0) thresholds.clear();
  };
  const identityCommit = async (ops: readonly IdentityOp[], cursorName: string, from: number, to: number) => {
    await store.identity.commit(ops, cursorName, from, to);
    followIdentity(ops);
  };
  const snapshot = (keys: readonly IdentifierKey[]) => Promise.resolve(mirror.snapshot(keys));
  const dropWakeup = async (profileId: string): Promise<void> => {
    await store.quarantine.dropWakeup(profileId);
    records.delete(profileId);
  };
  return {
    ...store,
    identity: { ...store.identity, getProfile, snapshot, commit: identityCommit },
    audiences: { ...store.audiences, load, threshold },
    quarantine: { ...store.quarantine, dropWakeup },
    commit,
  };
}

/** Forgets the profiles an identity change touches; all of them after a merge or a deletion. */
function forgetViews(views: Map<string, ProfileView | undefined>, ops: readonly IdentityOp[]): void {
  for (const op of ops) {
    if (op.op === 'merge' || op.op === 'delete') {
      views.clear();
      return;
    }
    // A profile's view holds no events.
    if (op.op !== 'event') views.delete(op.profileId);
  }
}

/** Drops the records whose rows an identity change rewrites in ways not followed here. */
function forgetChanged(cache: Map<string, ProfileRecord>, ops: readonly IdentityOp[]): void {
  for (const op of ops) {
    if (op.op === 'merge') {
      cache.delete(op.from);
      cache.delete(op.into);
    } else if (op.op === 'create' || op.op === 'delete' || op.op === 'trait') cache.delete(op.profileId);
  }
}

/** Applies committed audience writes to the cached records, each replaced by a new one. */
function follow(cache: Map<string, ProfileRecord>, writes: AudienceWrites): void {
  for (const id of writes.dropped) cache.delete(id);
  const next = new Map<string, ProfileRecord>();
  const edit = (id: string): ProfileRecord | undefined => {
    let record = next.get(id);
    if (record !== undefined) return record;
    const old = cache.get(id);
    if (old === undefined) return undefined;
    record = {
      ...old,
      memberships: new Map(old.memberships),
      stored: { state: undefined, wakeAt: null, ...old.stored, ...scoresOf(old) },
    };
    next.set(id, record);
    return record;
  };
  for (const s of writes.states) {
    const record = edit(s.profileId);
    if (record === undefined) continue;
    const text = s.text ?? JSON.stringify(s.state);
    record.state = JSON.parse(text) as ProfileState;
    record.stored = { ...record.stored!, state: text, wakeAt: s.wakeAt };
  }
  for (const m of writes.exited) edit(m.profileId)?.memberships.delete(m.audience);
  for (const m of writes.entered) edit(m.profileId)?.memberships.set(m.audience, membership(m));
  for (const s of writes.scores) {
    const scores = edit(s.profileId)?.stored?.scores;
    if (s.value === undefined) scores?.delete(s.conditionId);
    else scores?.set(s.conditionId, s.value);
  }
  for (const [id, record] of next) {
    record.memberships = inAudienceOrder(record.memberships);
    cache.set(id, record);
  }
}

const scoresOf = (record: ProfileRecord): { scores: Map<string, number> } => ({
  scores: new Map(record.stored?.scores ?? []),
});

const membership = (m: Membership): Membership => ({
  audience: m.audience,
  profileId: m.profileId,
  since: m.since,
  heldOut: m.heldOut,
});

/** Memberships as the store reads them back: by audience name, as its key orders them. */
function inAudienceOrder(memberships: Map<string, Membership>): Map<string, Membership> {
  const keys = [...memberships.keys()];
  if (keys.every((k, i) => i === 0 || keys[i - 1]! < k)) return memberships;
  return new Map(keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((k) => [k, memberships.get(k)!]));
}
