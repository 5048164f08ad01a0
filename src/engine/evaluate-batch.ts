import type { IdentityOp, TraitValue } from '../identity/model.ts';
import type { LoggedEvent } from '../ingest/event.ts';
import type { EnginePorts } from './ports.ts';
import type { AudienceSet } from './audience-stage.ts';
import { applyAll, evaluateProfile } from './audience-stage.ts';
import { isSourceEvent, sourceEventAudience } from './source-membership.ts';
import type { AudienceWrites, ProfileRecord } from './model.ts';
import { emptyWrites } from './model.ts';

/** Current top_percent thresholds, read from the stored scores. */
export async function thresholds(store: EnginePorts, set: AudienceSet): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const r of set.compiled.topPercentRankings) {
    const value = await store.audiences.threshold(r.conditionId, r.percent);
    if (value !== undefined) out.set(r.conditionId, value);
  }
  return out;
}

const newer = (a: TraitValue | undefined, b: TraitValue): boolean => a === undefined || b.ts >= a.ts;

/**
 * The audience side of one processor batch. Each touched profile's state takes the batch's
 * events; a profile that merged takes the merged profiles' states too (or, where one has none,
 * is rebuilt from the full history), and the profiles merged away leave every audience.
 */
/** One processor batch, as evaluateBatch takes it. */
export interface BatchToEvaluate {
  store: EnginePorts;
  set: AudienceSet;
  events: readonly LoggedEvent[];
  /** The profile each event resolved to, by index. */
  profileOf: readonly string[];
  ops: readonly IdentityOp[];
  now: number;
  /** The current top_percent thresholds, when the caller has just read them. */
  current?: ReadonlyMap<string, number>;
  /**
   * The instant each profile's events are evaluated at, when not `now`: a simulation evaluates a
   * profile at its own event's time, as if its event had come alone. Merges still happen at `now`.
   */
  instantOf?: (profileId: string) => number;
}

export async function evaluateBatch(batch: BatchToEvaluate): Promise<AudienceWrites> {
  const { store, set, events, profileOf, ops, now, current, instantOf } = batch;
  const mergedInto = new Map<string, string>();
  const deleted = new Set<string>();
  const created = new Set<string>();
  const traitsChanged = new Map<string, Set<string>>();
  for (const op of ops) {
    if (op.op === 'merge') mergedInto.set(op.from, op.into);
    else if (op.op === 'delete') deleted.add(op.profileId);
    else if (op.op === 'create') created.add(op.profileId);
    else if (op.op === 'trait') {
      const names = traitsChanged.get(op.profileId);
      if (names === undefined) traitsChanged.set(op.profileId, new Set([op.name]));
      else names.add(op.name);
    }
  }
  const final = (id: string): string => {
    let p = id;
    for (let next = mergedInto.get(p); next !== undefined; next = mergedInto.get(p)) p = next;
    return p;
  };
  const batchEvents = new Map<string, LoggedEvent[]>();
  events.forEach((e, i) => {
    const p = final(profileOf[i]!);
    let list = batchEvents.get(p);
    if (!list) batchEvents.set(p, (list = []));
    list.push(e);
  });
  const groups = new Map<string, string[]>();
  for (const from of mergedInto.keys()) {
    const survivor = final(from);
    groups.set(survivor, [...(groups.get(survivor) ?? [survivor]), from]);
  }
  // A known profile whose events here no audience reads (page views, say), with no trait set and
  // no merge, keeps every answer: only time can change them, and its wake-up is already set.
  for (const [profileId, own] of batchEvents) {
    if (created.has(profileId) || traitsChanged.has(profileId) || groups.has(profileId)) continue;
    if (own.every((e) => !readByAudiences(set, e))) batchEvents.delete(profileId);
  }
  // A profile created in this batch has no rows to read yet.
  const records = await store.audiences.load(
    [...new Set([...batchEvents.keys(), ...mergedInto.keys(), ...deleted])].filter((id) => !created.has(id)),
  );

  const traits = new Map<string, Record<string, TraitValue>>();
  for (const [id, record] of records) {
    const target = traits.get(final(id)) ?? {};
    for (const [name, value] of Object.entries(record.traits))
      if (newer(target[name], value)) target[name] = value;
    traits.set(final(id), target);
  }
  for (const op of ops) {
    if (op.op !== 'trait') continue;
    const target = traits.get(final(op.profileId)) ?? {};
    const value = { value: op.value, ts: op.ts };
    if (newer(target[op.name], value)) target[op.name] = value;
    traits.set(final(op.profileId), target);
  }

  const limits = current ?? (await thresholds(store, set));
  const writes = emptyWrites();
  // Exits of the profiles merged away come first: a destination keyed by a shared identifier
  // must see the old membership end before the survivor's begins.
  for (const [from, into] of mergedInto) {
    for (const m of records.get(from)?.memberships.values() ?? []) {
      writes.changes.push({
        audience: m.audience,
        profileId: from,
        change: 'exit',
        at: now,
        cause: { kind: 'merge', into: final(into) },
        version: set.versions.get(m.audience) ?? '',
        heldOut: m.heldOut,
      });
    }
    writes.dropped.push(from);
  }
  // A deleted profile leaves every audience at once; its state goes with its data.
  for (const profileId of deleted) {
    for (const m of records.get(profileId)?.memberships.values() ?? []) {
      writes.exited.push({ audience: m.audience, profileId });
      writes.changes.push({
        audience: m.audience,
        profileId,
        change: 'exit',
        at: now,
        cause: { kind: 'deleted' },
        version: set.versions.get(m.audience) ?? '',
        heldOut: m.heldOut,
      });
    }
    writes.dropped.push(profileId);
  }
  // A profile born in this batch has no history beyond its events here; any other has a state
  // unless it was never evaluated (e.g. it predates the audiences).
  const summed = (id: string): boolean => created.has(id) || records.get(id)?.state !== undefined;
  const { compiled } = set;
  for (const [profileId, own] of batchEvents) {
    if (deleted.has(profileId)) continue;
    const at = instantOf?.(profileId) ?? now;
    const record = records.get(profileId) ?? emptyRecord(profileId);
    const group = groups.get(profileId);
    let state;
    let replayed: LoggedEvent[] | undefined;
    if (group !== undefined && set.sourced.size === 0 && group.every(summed)) {
      // A merge: each profile's state already sums up its history and states combine exactly,
      // so neither history is read again. (A source's last word on a sourced audience is not
      // in the state: with sourced audiences a merge replays the history below.)
      const merged = group.reduce(
        (s, id) => compiled.merge(s, records.get(id)?.state ?? compiled.emptyState(), at),
        compiled.emptyState(),
      );
      state = applyAll(set, merged, own, at);
    } else if (group !== undefined || !summed(profileId)) {
      // Rebuilt from the whole history: the merged profiles' events, or a profile never evaluated.
      replayed = [...(await store.audiences.history(group ?? [profileId])), ...own];
      state = applyAll(set, compiled.emptyState(), replayed, at);
    } else {
      state = applyAll(set, record.state ?? compiled.emptyState(), own, at);
    }
    // A profile already evaluated needs a look only at the audiences its events and traits feed;
    // a new, merged or rebuilt one at all of them.
    const incremental = group === undefined && replayed === undefined && !created.has(profileId);
    evaluateProfile({
      set,
      record,
      state,
      traits: traits.get(profileId) ?? {},
      thresholds: limits,
      now: at,
      trigger: replayed
        ? { events: own, replayed }
        : incremental
          ? { events: own, affected: affectedBy(set, own, traitsChanged.get(profileId)) }
          : { events: own },
      writes,
    });
  }
  return writes;
}

/**
 * Top-percent audiences move when the ranking does: re-evaluates the members and everyone now
 * at or above each threshold, the only profiles whose answer a new threshold can change.
 */
export async function evaluateRankings(
  store: EnginePorts,
  set: AudienceSet,
  now: number,
  failed?: ProfileFailure[],
): Promise<AudienceWrites> {
  const ids = new Set<string>();
  const limits = await thresholds(store, set);
  for (const r of set.compiled.topPercentRankings) {
    for (const m of await store.audiences.members(r.audience)) ids.add(m.profileId);
    const threshold = limits.get(r.conditionId);
    if (threshold !== undefined)
      for (const id of await store.audiences.scoredAtLeast(r.conditionId, threshold)) ids.add(id);
  }
  return ids.size === 0
    ? emptyWrites()
    : evaluateDue({
        store,
        set,
        profileIds: [...ids],
        now,
        reason: 'ranking',
        current: limits,
        ...(failed ? { failed } : {}),
      });
}

/** Ranking thresholds `before` the batch, re-checked at `now` (ms); profiles that fail are added to `failed`. */
export interface MovedRankings {
  store: EnginePorts;
  set: AudienceSet;
  before: ReadonlyMap<string, number>;
  now: number;
  failed?: ProfileFailure[];
}

/**
 * After a batch moved a top-percent threshold, the profiles whose answer it can flip are those
 * scored between the old and the new threshold (or, where there was none, above the new one):
 * re-evaluated at once, so ranks are exact after every batch, not only at the periodic refresh.
 */
export async function evaluateMovedRankings({
  store,
  set,
  before,
  now,
  failed,
}: MovedRankings): Promise<AudienceWrites> {
  const after = await thresholds(store, set);
  const ids = new Set<string>();
  for (const r of set.compiled.topPercentRankings) {
    const old = before.get(r.conditionId);
    const current = after.get(r.conditionId);
    if (old === current) continue;
    const found =
      current === undefined
        ? (await store.audiences.members(r.audience)).map((m) => m.profileId)
        : old === undefined
          ? await store.audiences.scoredAtLeast(r.conditionId, current)
          : await store.audiences.scoredBetween(
              r.conditionId,
              Math.min(old, current),
              Math.max(old, current),
            );
    for (const id of found) ids.add(id);
  }
  return ids.size === 0
    ? emptyWrites()
    : evaluateDue({
        store,
        set,
        profileIds: [...ids],
        now,
        reason: 'ranking',
        current: after,
        ...(failed ? { failed } : {}),
      });
}

/** A profile whose re-evaluation threw, and what it threw. */
export interface ProfileFailure {
  profileId: string;
  error: unknown;
}

export interface DueOptions {
  /** Why the profiles are re-evaluated. Default `window`. */
  reason?: 'window' | 'ranking';
  /** The current top_percent thresholds, when the caller has just read them. */
  current?: ReadonlyMap<string, number>;
  /**
   * Where profiles whose evaluation throws go. Without it a failure throws; with it the profile
   * is skipped (its other writes undone) and, for a window, its wake-up cleared, so one profile's
   * bad state cannot hold up every other due wake-up. It is evaluated again at its next event.
   */
  failed?: ProfileFailure[];
}

/** Profiles whose wake-up is due, evaluated at `now` (ms). */
export interface DueEvaluation extends DueOptions {
  store: EnginePorts;
  set: AudienceSet;
  profileIds: readonly string[];
  now: number;
}

/** Wake-ups: profiles whose answer may have changed with time alone, re-evaluated at `now`. */
export async function evaluateDue({
  store,
  set,
  profileIds,
  now,
  ...options
}: DueEvaluation): Promise<AudienceWrites> {
  const { reason = 'window', failed } = options;
  // In id order, so the changes land in the outbox's per-profile index in order too.
  const records = await store.audiences.load([...profileIds].sort());
  const limits = options.current ?? (await thresholds(store, set));
  const writes = emptyWrites();
  for (const record of records.values()) {
    const mark = lengths(writes);
    try {
      const state = set.compiled.prune(record.state ?? set.compiled.emptyState(), now);
      evaluateProfile({
        set,
        record,
        state,
        traits: record.traits,
        thresholds: limits,
        now,
        trigger: { reason },
        writes,
      });
    } catch (error) {
      if (failed === undefined) throw error;
      truncate(writes, mark);
      failed.push({ profileId: record.profileId, error });
      const stored = record.stored?.state;
      if (reason === 'window' && record.state !== undefined && stored !== undefined)
        writes.states.push({ profileId: record.profileId, state: record.state, wakeAt: null, text: stored });
    }
  }
  return writes;
}

const KEYS = ['states', 'entered', 'exited', 'changes', 'scores', 'dropped'] as const;
const lengths = (w: AudienceWrites): number[] => KEYS.map((k) => w[k].length);
const truncate = (w: AudienceWrites, mark: readonly number[]): void =>
  KEYS.forEach((k, i) => (w[k].length = mark[i]!));

/**
 * The audiences the events and the changed traits can move, their dependents included; undefined
 * (all of them) when a source spoke, as the audiences referencing a sourced one are not tracked.
 */
function affectedBy(
  set: AudienceSet,
  events: readonly LoggedEvent[],
  traits?: ReadonlySet<string>,
): Set<string> | undefined {
  const out = new Set<string>();
  for (const e of events) {
    if (set.sourced.size > 0 && sourceEventAudience(set.sourceEvents, e) !== undefined) return undefined;
    for (const a of set.compiled.relevantAudiences(e.name ?? e.type)) out.add(a);
  }
  for (const name of traits ?? []) for (const a of set.compiled.audiencesUsingTrait(name)) out.add(a);
  return out;
}

/**
 * Whether any audience reads the event, and so its message: a condition tracks its name, or it
 * is named as a source's word and some audience is sourced. Decided from the columns alone.
 */
export const readByAudiences = (set: AudienceSet, e: LoggedEvent): boolean =>
  set.compiled.relevantAudiences(e.name ?? e.type).length > 0 ||
  (set.sourced.size > 0 && isSourceEvent(set.sourceEvents, e));

/** A profile with no rows stored. */
const emptyRecord = (profileId: string): ProfileRecord => ({
  profileId,
  state: undefined,
  traits: {},
  memberships: new Map(),
  stored: { state: undefined, wakeAt: null, scores: new Map() },
});
