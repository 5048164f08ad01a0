import type { AudienceWrites } from '../../engine/model.ts';
import type { Pipeline } from './database.ts';

/** The last of the rows sharing a key: applied one by one, the last write would stand. */
const lastByKey = <T>(rows: readonly T[], key: (row: T) => string): T[] => {
  const last = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    last.delete(k);
    last.set(k, row);
  }
  return [...last.values()];
};

/** Applies a batch's audience results inside the caller's transaction: one statement per kind of write. */
export function applyAudiences(p: Pipeline, writes: AudienceWrites): void {
  if (writes.dropped.length > 0) {
    const ids = writes.dropped;
    p.send(p.tx`DELETE FROM profile_state WHERE profile_id = ANY(${ids}::text[])`);
    p.send(p.tx`DELETE FROM memberships WHERE profile_id = ANY(${ids}::text[])`);
    p.send(p.tx`DELETE FROM scores WHERE profile_id = ANY(${ids}::text[])`);
  }
  if (writes.states.length > 0) {
    const states = lastByKey(writes.states, (s) => s.profileId);
    p.send(p.tx`
      INSERT INTO profile_state (profile_id, state, wake_at)
      SELECT * FROM unnest(${states.map((s) => s.profileId)}::text[],
                           ${states.map((s) => s.text ?? JSON.stringify(s.state))}::text[],
                           ${states.map((s) => s.wakeAt)}::bigint[])
      ON CONFLICT (profile_id) DO UPDATE SET state = excluded.state, wake_at = excluded.wake_at`);
  }
  if (writes.exited.length > 0) {
    const exited = writes.exited;
    p.send(p.tx`
      DELETE FROM memberships m
       USING unnest(${exited.map((e) => e.audience)}::text[], ${exited.map((e) => e.profileId)}::text[])
             AS x(audience, profile_id)
       WHERE m.audience = x.audience AND m.profile_id = x.profile_id`);
  }
  if (writes.entered.length > 0) {
    const entered = lastByKey(writes.entered, (m) => `${m.audience}\u0000${m.profileId}`);
    p.send(p.tx`
      INSERT INTO memberships (audience, profile_id, since, held_out)
      SELECT * FROM unnest(${entered.map((m) => m.audience)}::text[], ${entered.map((m) => m.profileId)}::text[],
                           ${entered.map((m) => m.since)}::bigint[], ${entered.map((m) => (m.heldOut ? 't' : 'f'))}::text[]::boolean[])
      ON CONFLICT (audience, profile_id) DO UPDATE SET since = excluded.since, held_out = excluded.held_out`);
  }
  if (writes.changes.length > 0) {
    const c = writes.changes;
    p.send(p.tx`
      INSERT INTO changes (audience, profile_id, change, at, cause, version, held_out)
      SELECT a, p, ch, t, ca, v, h
        FROM unnest(${c.map((x) => x.audience)}::text[], ${c.map((x) => x.profileId)}::text[],
                    ${c.map((x) => x.change)}::text[], ${c.map((x) => x.at)}::bigint[],
                    ${c.map((x) => JSON.stringify(x.cause))}::text[], ${c.map((x) => x.version)}::text[],
                    ${c.map((x) => (x.heldOut ? 't' : 'f'))}::text[]::boolean[]) WITH ORDINALITY AS r(a, p, ch, t, ca, v, h, n)
       ORDER BY n`);
  }
  if (writes.scores.length > 0) {
    const scores = lastByKey(writes.scores, (s) => `${s.conditionId}\u0000${s.profileId}`);
    const set = scores.filter((s) => s.value !== undefined);
    const unset = scores.filter((s) => s.value === undefined);
    if (unset.length > 0) {
      p.send(p.tx`
        DELETE FROM scores s
         USING unnest(${unset.map((u) => u.conditionId)}::text[], ${unset.map((u) => u.profileId)}::text[])
               AS x(condition_id, profile_id)
         WHERE s.condition_id = x.condition_id AND s.profile_id = x.profile_id`);
    }
    if (set.length > 0) {
      p.send(p.tx`
        INSERT INTO scores (condition_id, profile_id, value)
        SELECT * FROM unnest(${set.map((s) => s.conditionId)}::text[], ${set.map((s) => s.profileId)}::text[],
                             ${set.map((s) => s.value!)}::float8[])
        ON CONFLICT (condition_id, profile_id) DO UPDATE SET value = excluded.value`);
    }
  }
}
