import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { IdentifierKind, IdentityOp, MergeCause, ProfileView } from '../../identity/model.ts';
import type { IncomingEvent } from '../../ingest/event.ts';
import type { Store } from '../ports.ts';
import { createSqliteStore } from '../sqlite/index.ts';
import { openTestPostgresStore } from './testing.ts';

// A batch's identity ops are written a level at a time, one statement per kind of write, not one
// by one. Reference: the SQLite store, which applies them one by one in order. Random valid op
// sequences, each committed as one batch to both; every profile, identifier and history compared.

interface Intent {
  kind: 'create' | 'attach' | 'trait' | 'invalid' | 'event' | 'merge' | 'delete';
  a: number;
  b: number;
  ts: number;
}

const intentArb: fc.Arbitrary<Intent> = fc.record({
  kind: fc.constantFrom(
    'create',
    'create',
    'attach',
    'attach',
    'trait',
    'trait',
    'invalid',
    'event',
    'event',
    'merge',
    'merge',
    'delete',
  ),
  a: fc.nat(50),
  b: fc.nat(50),
  ts: fc.integer({ min: 0, max: 4 }),
});

const KINDS: IdentifierKind[] = ['userId', 'email', 'anonymousId'];
const CAUSES: MergeCause[] = ['identify', 'alias', 'email', 'phone'];
const EVENTS = 12;

/** Turns intents into ops a processor could emit: profiles used only while live, identifiers owned once. */
function opsOf(intents: readonly Intent[], run: string): { ops: IdentityOp[]; ids: string[] } {
  const ops: IdentityOp[] = [];
  const live: string[] = [];
  const ids: string[] = [];
  const owner = new Map<string, string>();
  let unusedEvents = Array.from({ length: EVENTS }, (_, i) => i + 1);
  const pick = (n: number): string | undefined => (live.length === 0 ? undefined : live[n % live.length]);
  for (const { kind, a, b, ts } of intents) {
    const p = pick(a);
    if (kind === 'create') {
      const id = `${run}p${ids.length}`;
      ids.push(id);
      live.push(id);
      ops.push({ op: 'create', profileId: id, at: ts });
    } else if (p === undefined) continue;
    else if (kind === 'attach') {
      const identifier = { kind: KINDS[b % 3]!, value: `${run}v${b % 7}` };
      const key = `${identifier.kind}:${identifier.value}`;
      if (owner.has(key)) continue;
      owner.set(key, p);
      ops.push({ op: 'attach', profileId: p, identifier, at: ts });
    } else if (kind === 'trait')
      ops.push({ op: 'trait', profileId: p, name: `t${b % 3}`, value: { b, ts }, ts });
    else if (kind === 'invalid')
      ops.push({
        op: 'invalid',
        profileId: p,
        kind: b % 2 ? 'email' : 'phone',
        value: `x${b % 3}`,
        reason: 'bad',
      });
    else if (kind === 'event') {
      const offset = unusedEvents[b % Math.max(1, unusedEvents.length)];
      if (offset === undefined) continue;
      unusedEvents = unusedEvents.filter((o) => o !== offset);
      ops.push({ op: 'event', profileId: p, offset });
    } else if (kind === 'merge') {
      const into = pick(b);
      if (into === undefined || into === p) continue;
      live.splice(live.indexOf(p), 1);
      for (const [key, o] of owner) if (o === p) owner.set(key, into);
      ops.push({ op: 'merge', from: p, into, cause: CAUSES[b % 4]!, at: ts, offset: 1 });
    } else {
      live.splice(live.indexOf(p), 1);
      for (const [key, o] of owner) if (o === p) owner.delete(key);
      ops.push({ op: 'delete', profileId: p, at: ts });
    }
  }
  return { ops, ids };
}

const event = (run: string, n: number): IncomingEvent => ({
  sourceId: 'web',
  messageId: `${run}m${n}`,
  type: 'track',
  userId: null,
  anonymousId: 'a',
  name: 'Viewed',
  timestamp: n,
  receivedAt: n,
  message: { type: 'track', event: 'Viewed', anonymousId: 'a', messageId: `${run}m${n}` },
});

/** What a store says about the run's profiles: views (identifiers sorted), histories by message id. */
async function observe(store: Store, ids: readonly string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const id of ids) {
    const view: ProfileView | undefined = await store.identity.getProfile(id);
    const history = (await store.audiences.history([id])).map((e) => e.messageId);
    out.push({
      id,
      view: view && {
        ...view,
        identifiers: [...view.identifiers].sort((x, y) =>
          `${x.kind}${x.value}`.localeCompare(`${y.kind}${y.value}`),
        ),
      },
      history,
    });
  }
  return out;
}

let pg: Store;
before(async () => (pg = await openTestPostgresStore()));
after(() => pg.close());

test('identity ops committed as one batch leave the same profiles as applying them one by one', async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(intentArb, { minLength: 1, maxLength: 40 }), async (intents) => {
      const run = `r${runs++}_`;
      const { ops, ids } = opsOf(intents, run);
      const sqlite = createSqliteStore(':memory:');
      try {
        const events = Array.from({ length: EVENTS }, (_, i) => event(run, i + 1));
        await sqlite.events.append(events);
        const head = await pg.events.head();
        await pg.events.append(events);
        // The run's events on PostgreSQL, after earlier runs' (some deleted, so not head + n).
        const offsets = new Map(
          (await pg.events.readAfter(head, EVENTS)).map((e) => [e.messageId, e.offset]),
        );
        const shifted = ops.map((op): IdentityOp =>
          op.op === 'event' ? { ...op, offset: offsets.get(`${run}m${op.offset}`)! } : op,
        );
        await sqlite.identity.commit(ops, 'test', 0, 1);
        await pg.identity.commit(shifted, run, 0, 1);
        const [a, b] = [await observe(pg, ids), await observe(sqlite, ids)];
        assert.deepEqual(a, b);
      } finally {
        await sqlite.close();
      }
    }),
    { numRuns: 60 },
  );
});
