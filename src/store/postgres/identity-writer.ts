import type { IdentityOp } from '../../identity/model.ts';
import { assertNever } from '../../shared/result.ts';
import type { Pipeline } from './database.ts';

type Op<K extends IdentityOp['op']> = Extract<IdentityOp, { op: K }>;

/**
 * The ops of one step of a batch. Simple ops (create, attach, trait, invalid) of one level touch
 * no profile a merge or delete of an earlier level has yet to change, so they commute among
 * themselves; the merges of one level touch disjoint profiles, so they commute too. Each kind of
 * write of a level is one statement, whatever its number of rows.
 */
interface Level {
  creates: Op<'create'>[];
  attaches: Op<'attach'>[];
  /** The winning trait write per (profile, name): the latest timestamp, the later op on a tie. */
  traits: Map<string, Op<'trait'>>;
  invalid: Op<'invalid'>[];
  merges: Op<'merge'>[];
  deletes: Op<'delete'>[];
}

const newLevel = (): Level => ({
  creates: [],
  attaches: [],
  traits: new Map(),
  invalid: [],
  merges: [],
  deletes: [],
});

interface Plan {
  levels: Level[];
  /** Every merge, in op order, for the merge records. */
  merges: Op<'merge'>[];
  /** Each profile's newly logged events (after merges moved them to their survivors). */
  history: Map<string, number[]>;
  /** Offsets of events of profiles deleted in this batch that their history does not list yet. */
  deletedEvents: number[];
}

/**
 * Orders a batch's ops into levels. An op on profile P goes to the level after the last merge
 * that touched P; a merge goes to the first level after every earlier merge touching either of
 * its profiles; a delete closes the level it is in, so whatever follows comes after it.
 */
export function planIdentity(ops: readonly IdentityOp[]): Plan {
  const levels: Level[] = [];
  const epoch = new Map<string, number>();
  let floor = 0;
  const levelOf = (profileId: string): number => Math.max(epoch.get(profileId) ?? 0, floor);
  const at = (index: number): Level => {
    while (levels.length <= index) levels.push(newLevel());
    return levels[index]!;
  };
  const plan: Plan = { levels, merges: [], history: new Map(), deletedEvents: [] };
  for (const op of ops) {
    switch (op.op) {
      case 'create':
        at(levelOf(op.profileId)).creates.push(op);
        break;
      case 'attach':
        at(levelOf(op.profileId)).attaches.push(op);
        break;
      case 'trait': {
        const traits = at(levelOf(op.profileId)).traits;
        const key = `${op.profileId}\u0000${op.name}`;
        const before = traits.get(key);
        if (before === undefined || op.ts >= before.ts) traits.set(key, op);
        break;
      }
      case 'invalid':
        at(levelOf(op.profileId)).invalid.push(op);
        break;
      case 'event': {
        const offsets = plan.history.get(op.profileId);
        if (offsets) offsets.push(op.offset);
        else plan.history.set(op.profileId, [op.offset]);
        break;
      }
      case 'merge': {
        const level = Math.max(levelOf(op.from), levelOf(op.into));
        at(level).merges.push(op);
        plan.merges.push(op);
        epoch.set(op.from, level + 1);
        epoch.set(op.into, level + 1);
        const absorbed = plan.history.get(op.from);
        if (absorbed) {
          plan.history.delete(op.from);
          const own = plan.history.get(op.into);
          if (own === undefined) plan.history.set(op.into, absorbed);
          else own.push(...absorbed);
        }
        break;
      }
      case 'delete': {
        const level = Math.max(levels.length - 1, levelOf(op.profileId), 0);
        at(level).deletes.push(op);
        floor = level + 1;
        const offsets = plan.history.get(op.profileId);
        if (offsets) plan.deletedEvents.push(...offsets);
        plan.history.delete(op.profileId);
        break;
      }
      default:
        assertNever(op, 'identity op');
    }
  }
  return plan;
}

/** Applies a batch's identity ops inside the caller's transaction, as if one by one in order. */
export function applyIdentity(p: Pipeline, ops: readonly IdentityOp[]): void {
  if (ops.length === 0) return;
  const plan = planIdentity(ops);
  for (const level of plan.levels) {
    applySimple(p, level);
    if (level.merges.length > 0) applyMerges(p, level.merges);
    if (level.deletes.length > 0) applyDeletes(p, level.deletes, plan.deletedEvents);
  }
  if (plan.merges.length > 0) {
    const m = plan.merges;
    p.send(p.tx`
      INSERT INTO merges (from_profile, into_profile, cause, at, event_seq)
      SELECT f, i, c, a, s FROM unnest(${m.map((x) => x.from)}::text[], ${m.map((x) => x.into)}::text[],
                                       ${m.map((x) => x.cause)}::text[], ${m.map((x) => x.at)}::bigint[],
                                       ${m.map((x) => x.offset)}::bigint[]) WITH ORDINALITY AS r(f, i, c, a, s, n)
       ORDER BY n`);
  }
  if (plan.history.size > 0) {
    const ids: string[] = [];
    const seqs: number[] = [];
    for (const [profileId, offsets] of plan.history) {
      for (const offset of offsets) {
        ids.push(profileId);
        seqs.push(offset);
      }
    }
    p.send(p.tx`
      INSERT INTO profile_events (profile_id, seq) SELECT * FROM unnest(${ids}::text[], ${seqs}::bigint[])
      ON CONFLICT DO NOTHING`);
  }
}

function applySimple(p: Pipeline, level: Level): void {
  const { creates, attaches, invalid } = level;
  if (creates.length > 0) {
    p.send(p.tx`
      INSERT INTO profiles (id, created_at)
      SELECT * FROM unnest(${creates.map((c) => c.profileId)}::text[], ${creates.map((c) => c.at)}::bigint[])`);
  }
  if (attaches.length > 0) {
    p.send(p.tx`
      INSERT INTO identifiers (kind, value, profile_id, address, first_seen)
      SELECT * FROM unnest(${attaches.map((a) => a.identifier.kind)}::text[],
                           ${attaches.map((a) => a.identifier.value)}::text[],
                           ${attaches.map((a) => a.profileId)}::text[],
                           ${attaches.map((a) => a.identifier.address ?? null)}::text[],
                           ${attaches.map((a) => a.at)}::bigint[])`);
  }
  if (level.traits.size > 0) {
    const traits = [...level.traits.values()];
    p.send(p.tx`
      INSERT INTO traits (profile_id, name, value, ts)
      SELECT * FROM unnest(${traits.map((t) => t.profileId)}::text[], ${traits.map((t) => t.name)}::text[],
                           ${traits.map((t) => JSON.stringify(t.value ?? null))}::text[],
                           ${traits.map((t) => t.ts)}::bigint[])
      ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value, ts = excluded.ts
       WHERE excluded.ts >= traits.ts`);
  }
  if (invalid.length > 0) {
    p.send(p.tx`
      INSERT INTO invalid_identifiers (profile_id, kind, value, reason)
      SELECT * FROM unnest(${invalid.map((i) => i.profileId)}::text[], ${invalid.map((i) => i.kind)}::text[],
                           ${invalid.map((i) => i.value)}::text[], ${invalid.map((i) => i.reason)}::text[])
      ON CONFLICT DO NOTHING`);
  }
}

/** Merges of disjoint profiles, all at once: the survivor takes identifiers, traits, invalid values and events. */
function applyMerges(p: Pipeline, merges: readonly Op<'merge'>[]): void {
  const froms = merges.map((m) => m.from);
  const intos = merges.map((m) => m.into);
  p.send(p.tx`
    UPDATE identifiers i SET profile_id = m.into_p
      FROM unnest(${froms}::text[], ${intos}::text[]) AS m(from_p, into_p) WHERE i.profile_id = m.from_p`);
  p.send(p.tx`
    INSERT INTO invalid_identifiers (profile_id, kind, value, reason)
    SELECT m.into_p, v.kind, v.value, v.reason
      FROM unnest(${froms}::text[], ${intos}::text[]) AS m(from_p, into_p)
      JOIN invalid_identifiers v ON v.profile_id = m.from_p
    ON CONFLICT DO NOTHING`);
  p.send(p.tx`DELETE FROM invalid_identifiers WHERE profile_id = ANY(${froms}::text[])`);
  // A tie keeps the survivor's value.
  p.send(p.tx`
    INSERT INTO traits (profile_id, name, value, ts)
    SELECT m.into_p, t.name, t.value, t.ts
      FROM unnest(${froms}::text[], ${intos}::text[]) AS m(from_p, into_p)
      JOIN traits t ON t.profile_id = m.from_p
    ON CONFLICT (profile_id, name) DO UPDATE SET value = excluded.value, ts = excluded.ts
     WHERE excluded.ts > traits.ts`);
  p.send(p.tx`DELETE FROM traits WHERE profile_id = ANY(${froms}::text[])`);
  p.send(p.tx`
    UPDATE profile_events e SET profile_id = m.into_p
      FROM unnest(${froms}::text[], ${intos}::text[]) AS m(from_p, into_p) WHERE e.profile_id = m.from_p`);
  // Profiles merged into the absorbed one earlier now lead straight to the survivor.
  p.send(p.tx`
    UPDATE profiles p SET merged_into = m.into_p
      FROM unnest(${froms}::text[], ${intos}::text[]) AS m(from_p, into_p)
     WHERE p.id = m.from_p OR p.merged_into = m.from_p`);
}

/** Deletes profiles' data, their logged events included; their ids stay, marked deleted. */
function applyDeletes(p: Pipeline, deletes: readonly Op<'delete'>[], unrecorded: readonly number[]): void {
  const ids = deletes.map((d) => d.profileId);
  // Their ids stay, so a client's retry of one is still a duplicate.
  p.send(p.tx`
    WITH gone AS (
      DELETE FROM events
       WHERE seq IN (SELECT seq FROM profile_events WHERE profile_id = ANY(${ids}::text[]))
          OR seq = ANY(${unrecorded}::bigint[])
      RETURNING seq, source_id, message_id)
    INSERT INTO forgotten_events (seq, source_id, message_id)
    SELECT seq, source_id, message_id FROM gone ORDER BY seq ON CONFLICT DO NOTHING`);
  p.send(p.tx`DELETE FROM profile_events WHERE profile_id = ANY(${ids}::text[])`);
  p.send(p.tx`DELETE FROM identifiers WHERE profile_id = ANY(${ids}::text[])`);
  p.send(p.tx`DELETE FROM traits WHERE profile_id = ANY(${ids}::text[])`);
  p.send(p.tx`DELETE FROM invalid_identifiers WHERE profile_id = ANY(${ids}::text[])`);
  p.send(p.tx`
    UPDATE profiles p SET deleted_at = d.at
      FROM unnest(${ids}::text[], ${deletes.map((d) => d.at)}::bigint[]) AS d(id, at) WHERE p.id = d.id`);
}
