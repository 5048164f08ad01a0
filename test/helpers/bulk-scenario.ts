// The world both bulk import suites run in: 700 shoppers, most already Cordial contacts with a mix
// of subscription statuses, moved through the cart and purchasers audiences on a virtual clock.
import assert from 'node:assert/strict';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from './harness.ts';
import { WRITE_KEYS, basic } from './harness.ts';
import type { ManualClock } from '../../src/shared/clock.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/sync/retry-policy.ts';

export const T0 = Date.parse('2026-11-28T21:10:00.000Z');
export const N = 700;
export const email = (i: number) => `m${i}@example.com`;
/** Seeded contacts' subscription statuses: a mix, to see that no import touches them. */
const STATUSES = ['subscribed', 'unsubscribed', undefined] as const;
/** Members Cordial does not have yet: the import ignores them, one-by-one calls create them. */
export const isNew = (i: number) => i % 97 === 5;

/** The sync's sleeps move the virtual clock; retries go on long enough to outlast the faults. */
export const bulkSync = (clock: ManualClock) => ({
  sleep: (ms: number) => Promise.resolve(clock.advance(ms)),
  random: () => 0.5,
  retryPolicy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 30 },
});

/** Every shopper but the new ones, as a Cordial contact with its status. */
export function seedContacts(fake: FakeCordial): void {
  for (let i = 0; i < N; i++) {
    if (isNew(i)) continue;
    const status = STATUSES[i % 3];
    fake.seedContact({
      channels: { email: { address: email(i), ...(status ? { subscribeStatus: status } : {}) } },
    });
  }
}

export const shoppers = (ids: number[]) =>
  ids.flatMap((i) => [
    { type: 'identify', userId: `u${i}`, traits: { email: email(i) } },
    { type: 'track', userId: `u${i}`, event: 'Product Added', properties: { sku: 'b1' } },
  ]);
export const purchases = (ids: number[]) =>
  ids.map((i) => ({ type: 'track', userId: `u${i}`, event: 'Order Completed', properties: { revenue: 10 } }));
export const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** The steps of a bulk test on the suite's current harness (a test may replace it) and fake. */
export function bulkSteps(world: { clock: ManualClock; fake: () => FakeCordial; h: () => Harness }) {
  const { clock } = world;
  return {
    ingest: async (messages: object[]): Promise<void> => {
      for (let i = 0; i < messages.length; i += 250) {
        const res = await world.h().server.inject({
          method: 'POST',
          url: '/v1/batch',
          headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
          payload: {
            batch: messages
              .slice(i, i + 250)
              .map((m) => ({ timestamp: new Date(clock.now()).toISOString(), ...m })),
          },
        });
        assert.equal(res.statusCode, 200, res.body);
      }
    },
    /** Settles until nothing is pending: retries wait out their backoff on the virtual clock. */
    converge: async (): Promise<void> => {
      const { app } = world.h();
      for (let round = 0; round < 200; round++) {
        await app.settle();
        const next = await app.store.sync.nextDueAt('cordial');
        if (next === null && (await app.store.bulk.active('cordial')).length === 0) return;
        clock.set(Math.max(clock.now(), next ?? clock.now()));
      }
      assert.fail('sync did not converge');
    },
    /** The audience's members by email, sorted as the fake lists them. */
    members: async (audience: string): Promise<string[]> => {
      const { store } = world.h().app;
      const out: string[] = [];
      for (const m of await store.audiences.members(audience)) {
        const profile = await store.identity.getProfile(m.profileId);
        out.push(profile!.identifiers.find((i) => i.kind === 'email')!.address!);
      }
      return out.sort();
    },
    assertStatusesKept: (): void => {
      for (let i = 0; i < N; i++) {
        // A contact created without a status shows `none`, as a contact never given one.
        const status = (isNew(i) ? undefined : STATUSES[i % 3]) ?? 'none';
        assert.equal(
          world.fake().contact(email(i))?.channels.email?.subscribeStatus,
          status,
          `status of ${email(i)}`,
        );
      }
    },
  };
}
