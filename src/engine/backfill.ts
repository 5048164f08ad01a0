import { setImmediate } from 'node:timers/promises';
import type { EnginePorts } from './ports.ts';
import type { AudienceSet } from './audience-stage.ts';
import { applyAll, evaluateProfile } from './audience-stage.ts';
import type { AudienceWrites } from './model.ts';
import { emptyWrites } from './model.ts';
import { thresholds } from './evaluate-batch.ts';

/** How the configured definitions differ from those last applied to the database. */
export interface DefinitionDiff {
  added: string[];
  changed: string[];
  removed: string[];
}

export async function definitionDiff(store: EnginePorts, set: AudienceSet): Promise<DefinitionDiff> {
  const applied = await store.audiences.appliedVersions();
  const diff: DefinitionDiff = { added: [], changed: [], removed: [] };
  for (const [key, version] of set.versions) {
    const before = applied.get(key);
    if (before === undefined) diff.added.push(key);
    else if (before !== version) diff.changed.push(key);
  }
  for (const key of applied.keys()) if (!set.versions.has(key)) diff.removed.push(key);
  return diff;
}

export const isEmptyDiff = (d: DefinitionDiff): boolean =>
  d.added.length === 0 && d.changed.length === 0 && d.removed.length === 0;

/** What a backfill does (or would do) to one audience. */
export interface PlanLine {
  audience: string;
  status: 'added' | 'changed' | 'removed' | 'unchanged';
  enter: number;
  exit: number;
  /** Of those entering, how many land in the holdout. */
  heldOut: number;
  sampleEnter: string[];
  sampleExit: string[];
}

export interface Plan {
  diff: DefinitionDiff;
  profiles: number;
  lines: PlanLine[];
}

const SAMPLE = 5;
const CHUNK = 500;

export interface BackfillOptions {
  /** Commit the changes and record the versions; false only counts them (the plan). */
  apply: boolean;
  /** Called after each chunk with the profiles re-evaluated so far. */
  onProgress?: (profiles: number) => void;
  /** Stops between chunks (rejecting with its reason); the versions are then not recorded. */
  signal?: AbortSignal;
}

/**
 * Re-derives every profile's audience state and memberships from the event log under the
 * configured definitions. With `apply: false` it only counts who would enter and exit (the
 * plan); with `apply: true` it commits the changes, chunk by chunk, and records the versions.
 * Changes carry the cause "definition changed" and take effect at `now`. Timers and I/O run
 * between chunks, so a server on the same thread keeps answering while it runs.
 */
export async function backfill(
  store: EnginePorts,
  set: AudienceSet,
  now: number,
  options: BackfillOptions,
): Promise<Plan> {
  const diff = await definitionDiff(store, set);
  const lines = new Map<string, PlanLine>();
  const line = (audience: string): PlanLine => {
    let l = lines.get(audience);
    if (!l) {
      const status = diff.added.includes(audience)
        ? 'added'
        : diff.changed.includes(audience)
          ? 'changed'
          : diff.removed.includes(audience)
            ? 'removed'
            : 'unchanged';
      lines.set(
        audience,
        (l = { audience, status, enter: 0, exit: 0, heldOut: 0, sampleEnter: [], sampleExit: [] }),
      );
    }
    return l;
  };
  for (const key of set.versions.keys()) line(key);
  for (const key of diff.removed) line(key);

  let profiles = 0;
  const limits = await thresholds(store, set);
  const flush = async (chunk: { profileId: string; events: Parameters<typeof applyAll>[2] }[]) => {
    const records = await store.audiences.load(chunk.map((c) => c.profileId));
    const writes: AudienceWrites = emptyWrites();
    for (const { profileId, events } of chunk) {
      const record = records.get(profileId)!;
      const state = applyAll(set, set.compiled.emptyState(), events, now);
      evaluateProfile({
        set,
        record,
        state,
        traits: record.traits,
        thresholds: limits,
        now,
        trigger: { reason: 'definition' },
        writes,
      });
      for (const m of record.memberships.values()) {
        if (set.definitions.has(m.audience)) continue;
        writes.exited.push({ audience: m.audience, profileId });
        writes.changes.push({ ...m, change: 'exit', at: now, cause: { kind: 'definition' }, version: '' });
      }
    }
    for (const c of writes.changes) {
      const l = line(c.audience);
      if (c.change === 'enter') {
        l.enter++;
        if (c.heldOut) l.heldOut++;
        if (l.sampleEnter.length < SAMPLE) l.sampleEnter.push(c.profileId);
      } else {
        l.exit++;
        if (l.sampleExit.length < SAMPLE) l.sampleExit.push(c.profileId);
      }
    }
    if (options.apply) await store.commit({ identity: [], audiences: writes });
  };

  let chunk: { profileId: string; events: Parameters<typeof applyAll>[2] }[] = [];
  for await (const profile of store.audiences.replay()) {
    profiles++;
    chunk.push(profile);
    if (chunk.length >= CHUNK) {
      await flush(chunk);
      chunk = [];
      options.onProgress?.(profiles);
      await setImmediate();
      options.signal?.throwIfAborted();
    }
  }
  await flush(chunk);
  options.onProgress?.(profiles);
  if (options.apply) await store.audiences.recordVersions(set.versions, now);
  return { diff, profiles, lines: [...lines.values()] };
}
