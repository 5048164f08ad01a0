import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { createApp } from '../app.ts';
import { parseConfig } from '../../config/load.ts';
import type { IdentifierKey, IdentitySnapshot } from '../../identity/model.ts';
import { ManualClock } from '../../shared/clock.ts';
import type { Store } from '../../store/ports.ts';
import { createSqliteStore } from '../../store/sqlite/index.ts';
import { ProfileIds } from './simulation-batch.ts';
import { withReadCache } from './store-cache.ts';

// The reference audiences (a top-percent ranking among them), without the example's sources.
const example = parse(readFileSync(new URL('../../../examples/handoff.yaml', import.meta.url), 'utf8')) as {
  audiences: unknown[];
};
const parsed = parseConfig(stringify({ audiences: example.audiences }), 'store-cache-test.yaml', {});
if (!parsed.ok) throw new Error(parsed.error.message);
const config = parsed.value;

const H = 3_600_000;
const t0 = Date.parse('2026-11-01T00:00:00Z');
const USERS = ['u1', 'u2', 'u3', 'u4'];
const ANONS = ['a1', 'a2', 'a3', 'a4'];
const EMAILS = ['x@example.com', 'y@example.com', 'z@example.com'];

// Both identifiers half the time: that is what links (and merges) profiles.
const user = fc.record({ userId: fc.constantFrom(...USERS) });
const anon = fc.record({ anonymousId: fc.constantFrom(...ANONS) });
const who = fc.oneof(
  user,
  anon,
  fc.tuple(user, anon).map(([u, a]) => ({ ...u, ...a })),
  fc.tuple(user, anon).map(([u, a]) => ({ ...u, ...a })),
);
const message = fc.oneof(
  fc.record({
    who,
    type: fc.constant('track'),
    event: fc.constantFrom('Product Added', 'Order Completed', 'Product Viewed', 'Checkout Started'),
    revenue: fc.integer({ min: 1, max: 500 }),
  }),
  fc.record({ who, type: fc.constant('identify'), email: fc.constantFrom(...EMAILS) }),
  fc.record({
    type: fc.constant('alias'),
    userId: fc.constantFrom(...USERS),
    previousId: fc.constantFrom(...ANONS),
  }),
  fc.record({ type: fc.constant('wait'), hours: fc.integer({ min: 1, max: 30 }) }),
);

const keys: IdentifierKey[] = [
  ...USERS.map((value) => ({ kind: 'userId' as const, value })),
  ...ANONS.map((value) => ({ kind: 'anonymousId' as const, value })),
  ...EMAILS.map((value) => ({ kind: 'email' as const, value })),
];

/** A snapshot as a comparable value: profiles by id, each identifier's kind, value and address. */
const comparable = (s: IdentitySnapshot) =>
  s.profiles
    .map((p) => ({
      id: p.id,
      createdAt: p.createdAt,
      identifiers: p.identifiers.map((i) => `${i.kind} ${i.value} ${i.address ?? '-'}`).sort(),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));

/** Every read the cache answers, from the cache and from the store underneath, must agree. */
interface Reads {
  cached: Store;
  raw: Store;
  profileIds: readonly string[];
  rankings: readonly { conditionId: string; percent: number }[];
}

async function assertSameReads({ cached, raw, profileIds, rankings }: Reads): Promise<void> {
  for (const key of keys) {
    const c = comparable(await cached.identity.snapshot([key]));
    assert.deepEqual(
      c,
      comparable(await raw.identity.snapshot([key])),
      `snapshot of ${key.kind} ${key.value}`,
    );
  }
  const fromCache = await cached.audiences.load(profileIds);
  const fromStore = await raw.audiences.load(profileIds);
  for (const id of profileIds) {
    const c = fromCache.get(id)!;
    const r = fromStore.get(id)!;
    assert.deepEqual(c.state, r.state, `state of ${id}`);
    assert.deepEqual(c.traits, r.traits, `traits of ${id}`);
    assert.deepEqual([...c.memberships], [...r.memberships], `memberships of ${id}, in order`);
    assert.deepEqual(c.stored?.state, r.stored?.state, `stored state of ${id}`);
    assert.equal(c.stored?.wakeAt, r.stored?.wakeAt, `wake-up of ${id}`);
    assert.deepEqual(
      [...(c.stored?.scores ?? [])].sort(),
      [...(r.stored?.scores ?? [])].sort(),
      `scores of ${id}`,
    );
    assert.deepEqual(
      await cached.identity.getProfile(id),
      await raw.identity.getProfile(id),
      `view of ${id}`,
    );
  }
  for (const { conditionId, percent } of rankings)
    assert.equal(
      await cached.audiences.threshold(conditionId, percent),
      await raw.audiences.threshold(conditionId, percent),
      `threshold of ${conditionId}`,
    );
}

test('the read cache answers as the store underneath it, through events, merges, wake-ups and rankings', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 40 }), async (script) => {
      const raw = createSqliteStore(':memory:');
      const cached = withReadCache(raw);
      const clock = new ManualClock(t0);
      const ids = new ProfileIds();
      const app = createApp({ config, store: cached, clock, newProfileId: ids.next });
      try {
        let n = 0;
        for (const step of script) {
          if (step.type === 'wait') {
            clock.set(clock.now() + step.hours * H);
            await app.processor.processWakeups();
            await app.processor.refreshRankings();
          } else {
            clock.set(clock.now() + 60_000);
            const base = { messageId: `m${++n}`, timestamp: new Date(clock.now()).toISOString() };
            const body =
              step.type === 'track'
                ? {
                    ...base,
                    ...step.who,
                    type: 'track',
                    event: step.event,
                    properties: { revenue: step.revenue },
                  }
                : step.type === 'identify'
                  ? { ...base, ...step.who, type: 'identify', traits: { email: step.email } }
                  : { ...base, type: 'alias', userId: step.userId, previousId: step.previousId };
            if (!('userId' in body) && !('anonymousId' in body)) continue;
            await app.ingest.ingest('simulate', [body]);
            await app.processor.drain();
          }
          const profileIds = Array.from({ length: ids.mark() }, (_, i) => `p${i + 1}`);
          const rankings = app.audiences.compiled.topPercentRankings;
          await assertSameReads({ cached, raw, profileIds, rankings });
        }
      } finally {
        await app.stop();
      }
    }),
    { numRuns: 60 },
  );
});
