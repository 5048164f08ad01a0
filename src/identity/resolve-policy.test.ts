import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentityPolicy } from './model.ts';
import {
  BASE,
  DEFAULTS,
  identify,
  identifyAnonymous,
  track,
  world,
  identifiersOf,
  receivedAt,
  closeWorlds,
} from '../app/testing/identity-world.ts';
import type { World } from '../app/testing/identity-world.ts';

after(closeWorlds);

// Guards, match policies, invalid identifiers and traits; how profiles link is in resolve.test.ts.

// Resolution is driven end to end: messages go into a real event log, the Processor resolves
// them, and assertions read only what the Store port exposes.

// Every scenario runs twice: one event per batch (identities come from the store's snapshot) and
// all events in one batch (identities come from the in-memory working set). Both must agree.
for (const batchSize of [1, 1000]) {
  describe(`resolution, batch size ${batchSize}`, () => {
    const w = (policy: Partial<IdentityPolicy> = {}): World => world(policy, batchSize);

    describe('guards', () => {
      test('two userIds sharing an email never merge; the event goes to its userId profile', async () => {
        const x = w();
        await x.send(
          identify('u1', { email: 'shared@example.com', plan: 'gold' }),
          identify('u2', { email: 'shared@example.com', plan: 'trial' }),
        );
        const u1 = await x.profile('userId', 'u1');
        const u2 = await x.profile('userId', 'u2');
        assert.equal(u1?.id, 'p1');
        assert.equal(u2?.id, 'p2', 'u2 has a profile of its own');
        assert.deepEqual(identifiersOf(u1), ['email:shared@example.com', 'userId:u1']);
        assert.deepEqual(identifiersOf(u2), ['userId:u2']);
        assert.equal(u1?.traits.plan?.value, 'gold', "u2's traits do not land on u1");
        assert.equal(u2?.traits.plan?.value, 'trial');
        assert.deepEqual(u1?.merges, []);
      });

      test('two userIds on one shared device never merge', async () => {
        const x = w();
        await x.send(identify('u1', {}, 'device-1'), identify('u2', { plan: 'trial' }, 'device-1'));
        assert.equal(await x.idOf('userId', 'u1'), 'p1');
        assert.equal(await x.idOf('userId', 'u2'), 'p2');
        assert.equal(await x.idOf('anonymousId', 'device-1'), 'p1');
        assert.equal((await x.profile('userId', 'u1'))?.traits.plan, undefined);
      });

      test('a new userId joins an anonymous profile but not a sibling profile holding another userId', async () => {
        const x = w();
        await x.send(identify('u1', { email: 'ann@example.com' }), track({ anonymousId: 'a2' }));
        await x.send(track({ userId: 'u2', anonymousId: 'a2' }, { email: 'ann@example.com' }));
        assert.equal(await x.idOf('userId', 'u2'), 'p2');
        assert.equal(await x.idOf('anonymousId', 'a2'), 'p2');
        assert.equal(await x.idOf('userId', 'u1'), 'p1');
      });

      test('an anonymousId limit of 2 leaves a third unattached, and refuses a merge that would exceed it', async () => {
        const x = w({ limits: { ...DEFAULTS.limits, anonymousId: 2 } });
        await x.send(track({ anonymousId: 'a4' }));
        await x.send(identify('u1', {}, 'a1'), track({ userId: 'u1', anonymousId: 'a2' }));
        await x.send(track({ userId: 'u1', anonymousId: 'a3' }), track({ userId: 'u1', anonymousId: 'a4' }));
        const p = await x.profile('userId', 'u1');
        assert.deepEqual(identifiersOf(p), ['anonymousId:a1', 'anonymousId:a2', 'userId:u1']);
        assert.equal(await x.idOf('anonymousId', 'a3'), undefined);
        assert.equal(await x.idOf('anonymousId', 'a4'), 'p1', 'the anonymous profile keeps its id');
        assert.equal(p?.id, 'p2');
        await x.send(track({ anonymousId: 'a3' }));
        assert.equal(
          await x.idOf('anonymousId', 'a3'),
          'p3',
          'the unattached anonymousId starts its own profile',
        );
      });
    });

    describe('email match policies', () => {
      const cases: [
        name: string,
        policy: IdentityPolicy['email'],
        first: string,
        second: string,
        merged: boolean,
      ][] = [
        [
          'plus tags stripped',
          { stripPlusTag: true, removeGmailDots: false },
          'Ann+promo@Example.com',
          'ann@example.com',
          true,
        ],
        ['plus tags kept (default)', DEFAULTS.email, 'ann+promo@example.com', 'ann@example.com', false],
        [
          'gmail dots removed',
          { stripPlusTag: false, removeGmailDots: true },
          'a.n.n@gmail.com',
          'ann@googlemail.com',
          true,
        ],
        ['gmail dots kept (default)', DEFAULTS.email, 'a.n.n@gmail.com', 'ann@gmail.com', false],
      ];
      for (const [name, email, first, second, merged] of cases) {
        test(`${name}: "${first}" and "${second}" ${merged ? 'share' : 'do not share'} a profile`, async () => {
          const x = w({ email });
          await x.send(identify('u1', { email: first }), identifyAnonymous('a2', { email: second }));
          assert.equal(await x.idOf('anonymousId', 'a2'), merged ? 'p1' : 'p2');
          const p = await x.profile('userId', 'u1');
          const identifier = p?.identifiers.find((i) => i.kind === 'email');
          assert.equal(
            identifier?.address,
            first.toLowerCase(),
            'the address destinations get is never policy-altered',
          );
          // Once the two share a profile, the later message's address is the newest email trait.
          assert.equal(p?.traits.email?.value, (merged ? second : first).toLowerCase());
        });
      }
    });

    describe('invalid email and phone', () => {
      test('are counted on the profile, not used as identifiers, and do not fail the message', async () => {
        const x = w();
        const processed = await x.send(
          identify('u1', { email: 'not an email', phone: '123' }),
          identify('u2', { email: 'not an email', phone: '123' }),
          track({ userId: 'u1' }, { email: 'ann@example.com', phone: 'call me' }),
        );
        assert.equal(processed, 3);
        assert.equal(await x.store.cursors.get('processor'), await x.store.events.head());
        const u1 = await x.profile('userId', 'u1');
        assert.deepEqual(identifiersOf(u1), ['email:ann@example.com', 'userId:u1']);
        assert.deepEqual(u1?.invalid, { email: 1, phone: 2 });
        assert.equal(await x.idOf('userId', 'u2'), 'p2', 'a shared invalid email links nobody');
        assert.deepEqual((await x.profile('userId', 'u2'))?.invalid, { email: 1, phone: 1 });
      });

      test('an invalid email does not replace a valid email trait', async () => {
        const x = w();
        await x.send(
          identify('u1', { email: 'ann@example.com' }),
          identify('u1', { email: 'oops', phone: '123' }),
        );
        const p = await x.profile('userId', 'u1');
        assert.equal(p?.traits.email?.value, 'ann@example.com');
        assert.equal(p?.traits.phone, undefined);
      });
    });

    describe('traits', () => {
      test('an older identify arriving late does not overwrite a newer trait', async () => {
        const x = w();
        await x.send(identify('u1', { plan: 'gold' }));
        const goldAt = receivedAt(1);
        await x.send({ ...identify('u1', { plan: 'silver', city: 'Leeds' }), ts: goldAt - 60_000 });
        const p = await x.profile('userId', 'u1');
        assert.deepEqual(p?.traits.plan, { value: 'gold', ts: goldAt });
        assert.deepEqual(
          p?.traits.city,
          { value: 'Leeds', ts: goldAt - 60_000 },
          'a trait it did not have is taken',
        );
      });

      test('a newer identify overwrites', async () => {
        const x = w();
        await x.send(identify('u1', { plan: 'gold' }), identify('u1', { plan: 'platinum' }));
        assert.deepEqual((await x.profile('userId', 'u1'))?.traits.plan, {
          value: 'platinum',
          ts: receivedAt(2),
        });
      });

      test('on equal timestamps the later-arriving value wins', async () => {
        const x = w();
        await x.send(
          { ...identify('u1', { plan: 'gold' }), ts: BASE },
          { ...identify('u1', { plan: 'silver' }), ts: BASE },
        );
        assert.deepEqual((await x.profile('userId', 'u1'))?.traits.plan, { value: 'silver', ts: BASE });
      });

      test('on a merge each trait keeps its latest value; a tie keeps the survivor', async () => {
        const x = w();
        await x.send(
          { ...identify('u1', { plan: 'gold', city: 'Leeds', tier: 1 }), ts: BASE + 10 },
          { ...identifyAnonymous('a2', { plan: 'silver', city: 'York', tier: 2 }), ts: BASE + 20 },
        );
        await x.send({ ...identify('u1', { tier: 3 }), ts: BASE + 30 });
        await x.send({ ...identify('u1', {}, 'a2'), ts: BASE });
        const p = await x.profile('anonymousId', 'a2');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(p?.traits.plan, { value: 'silver', ts: BASE + 20 });
        assert.deepEqual(p?.traits.city, { value: 'York', ts: BASE + 20 });
        assert.deepEqual(p?.traits.tier, { value: 3, ts: BASE + 30 });
      });

      test('a merge tie on the timestamp keeps the survivor value', async () => {
        const x = w();
        await x.send(
          { ...identify('u1', { plan: 'gold' }), ts: BASE },
          { ...identifyAnonymous('a2', { plan: 'silver' }), ts: BASE },
          { ...identify('u1', {}, 'a2'), ts: BASE - 1 },
        );
        assert.deepEqual((await x.profile('anonymousId', 'a2'))?.traits.plan, { value: 'gold', ts: BASE });
      });
    });
  });
}
