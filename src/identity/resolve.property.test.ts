import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { configSchema } from '../config/schema.ts';
import { Processor } from '../engine/processor.ts';
import type { IncomingEvent } from '../ingest/event.ts';
import type { Message } from '../ingest/messages.ts';
import { EventBus } from '../shared/bus.ts';
import type { HandoffEvents } from '../engine/events.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { IdentifierKind, IdentityPolicy } from './model.ts';

// Random message sequences over a small pool of ids, resolved by the Processor, compared with a
// brute-force model: union-find over the identifiers each message links, in arrival order, that
// refuses any union putting two userIds on one profile. Limits other than userId's are too large
// to matter here, so that guard is the only one in play.

const DEFAULTS = configSchema.parse({}).identity;
const POLICY: IdentityPolicy = {
  ...DEFAULTS,
  limits: { userId: 1, email: 100, phone: 100, anonymousId: 100 },
};
const USER_IDS = ['u1', 'u2', 'u3'];
const ANONYMOUS_IDS = ['a1', 'a2', 'a3', 'a4'];
// Mixed case on purpose: the model compares normalised addresses.
const EMAILS = ['e1@x.com', 'E1@X.com', 'e2@x.com', 'e3@x.com'];

interface Spec {
  type: 'identify' | 'track' | 'alias';
  userId?: string;
  anonymousId?: string;
  email?: string;
  previousId?: string;
}

const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arb, { nil: undefined, freq: 2 });

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .record({
        type: fc.constantFrom('identify' as const, 'track' as const),
        userId: optional(fc.constantFrom(...USER_IDS)),
        anonymousId: optional(fc.constantFrom(...ANONYMOUS_IDS)),
        email: optional(fc.constantFrom(...EMAILS)),
      })
      .filter((s) => s.userId !== undefined || s.anonymousId !== undefined),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant('alias' as const),
      userId: fc.constantFrom(...USER_IDS),
      anonymousId: optional(fc.constantFrom(...ANONYMOUS_IDS)),
      previousId: fc.constantFrom(...USER_IDS, ...ANONYMOUS_IDS),
    }),
  },
);

const key = (kind: IdentifierKind, value: string): string => `${kind}:${value}`;

/** The expected partition: sorted lists of identifier keys, one per profile. */
function model(specs: readonly Spec[]): string[][] {
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let root = k;
    while (parent.get(root) !== root) root = parent.get(root)!;
    return root;
  };
  const members = (root: string): string[] => [...parent.keys()].filter((k) => find(k) === root);
  const hasUserId = (root: string): boolean => members(root).some((k) => k.startsWith('userId:'));

  for (const s of specs) {
    const ids: string[] = [];
    if (s.userId !== undefined) ids.push(key('userId', s.userId));
    if (s.anonymousId !== undefined) ids.push(key('anonymousId', s.anonymousId));
    if (s.email !== undefined) ids.push(key('email', s.email.toLowerCase()));
    if (s.previousId !== undefined) {
      // An alias's previousId is whichever kind already names a profile; otherwise an anonymousId.
      if (parent.has(key('userId', s.previousId))) ids.push(key('userId', s.previousId));
      else if (parent.has(key('anonymousId', s.previousId)) || s.anonymousId === undefined) {
        ids.push(key('anonymousId', s.previousId));
      }
    }
    // Priority: userId, email, phone, anonymousId (stable within a kind).
    const rank = (k: string): number =>
      DEFAULTS.priority.indexOf(k.slice(0, k.indexOf(':')) as IdentifierKind);
    ids.sort((a, b) => rank(a) - rank(b));
    for (const k of ids) if (!parent.has(k)) parent.set(k, k);
    const [first, ...rest] = ids;
    if (first === undefined) continue;
    for (const k of rest) {
      const a = find(first);
      const b = find(k);
      if (a === b || (hasUserId(a) && hasUserId(b))) continue;
      parent.set(b, a);
    }
  }
  const groups = new Map<string, string[]>();
  for (const k of parent.keys()) groups.set(find(k), [...(groups.get(find(k)) ?? []), k]);
  return [...groups.values()].map((g) => g.sort()).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

function eventOf(s: Spec, n: number): IncomingEvent {
  const at = Date.UTC(2025, 0, 1) + n * 1000;
  const ids = {
    ...(s.userId ? { userId: s.userId } : {}),
    ...(s.anonymousId ? { anonymousId: s.anonymousId } : {}),
  };
  const traits = s.email === undefined ? {} : { email: s.email };
  let message: Message;
  if (s.type === 'alias') message = { type: 'alias', ...ids, previousId: s.previousId ?? '' };
  else if (s.type === 'identify') message = { type: 'identify', ...ids, traits };
  else message = { type: 'track', ...ids, event: 'Viewed', context: { traits } };
  return {
    sourceId: 'web',
    messageId: `m${n}`,
    type: s.type,
    userId: s.userId ?? null,
    anonymousId: s.anonymousId ?? null,
    name: s.type === 'track' ? 'Viewed' : null,
    timestamp: at,
    receivedAt: at,
    message,
  };
}

test('resolution partitions identifiers as the union-find model does, and keeps its invariants', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(specArb, { maxLength: 25 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 3 }),
      async (specs, batchSize, readChunk) => {
        const store = createSqliteStore(':memory:');
        try {
          let created = 0;
          let merges = 0;
          const bus = new EventBus<HandoffEvents>();
          bus.on('processor.batch', (e) => (merges += e.merges));
          const processor = new Processor({
            store,
            policy: POLICY,
            bus,
            newProfileId: () => `p${++created}`,
            batchSize,
            readChunk,
          });
          await store.events.append(specs.map((s, i) => eventOf(s, i + 1)));
          assert.equal(await processor.drain(), specs.length);

          const expected = model(specs);
          const byProfile = new Map<string, string[]>();
          for (const k of expected.flat()) {
            const colon = k.indexOf(':');
            const found = await store.identity.findProfile({
              kind: k.slice(0, colon) as IdentifierKind,
              value: k.slice(colon + 1),
            });
            assert.ok(found, `${k} belongs to a profile`);
            assert.ok(
              found.identifiers.some((i) => key(i.kind, i.value) === k),
              `${k}'s profile lists it`,
            );
            byProfile.set(found.id, [...(byProfile.get(found.id) ?? []), k]);
          }
          const actual = [...byProfile.values()]
            .map((g) => g.sort())
            .sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
          assert.deepEqual(actual, expected);

          const live = [];
          for (let i = 1; i <= created; i++) {
            const p = await store.identity.getProfile(`p${i}`);
            assert.ok(p, `p${i} resolves to a profile`);
            if (p.id === `p${i}`) live.push(p);
          }
          for (const p of live) {
            assert.ok(
              p.identifiers.filter((i) => i.kind === 'userId').length <= 1,
              `${p.id} has one userId at most`,
            );
            assert.deepEqual(
              p.identifiers.map((i) => key(i.kind, i.value)).sort(),
              byProfile.get(p.id) ?? [],
              `${p.id} holds exactly its identifiers`,
            );
          }
          assert.equal(live.length, created - merges, 'live profiles = created - merged');
          assert.equal(
            live.reduce((n, p) => n + p.merges.length, 0),
            merges,
            'every merge is recorded on its survivor',
          );
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns: 300 },
  );
});
