import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IdentifierKind, IdentityPolicy } from './model.ts';
import {
  DEFAULTS,
  identify,
  identifyAnonymous,
  track,
  alias,
  world,
  identifiersOf,
  merge,
  noMergeOn,
  receivedAt,
  closeWorlds,
} from '../app/testing/identity-world.ts';
import type { World } from '../app/testing/identity-world.ts';

after(closeWorlds);

// Resolution is driven end to end: messages go into a real event log, the Processor resolves
// them, and assertions read only what the Store port exposes.

// Every scenario runs twice: one event per batch (identities come from the store's snapshot) and
// all events in one batch (identities come from the in-memory working set). Both must agree.
for (const batchSize of [1, 1000]) {
  describe(`resolution, batch size ${batchSize}`, () => {
    const w = (policy: Partial<IdentityPolicy> = {}): World => world(policy, batchSize);

    describe('anonymous then identified', () => {
      test('an identify with userId and anonymousId joins the anonymous profile without a merge', async () => {
        const x = w();
        await x.send(track({ anonymousId: 'a1' }), identify('u1', {}, 'a1'));
        const p = await x.profile('userId', 'u1');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(identifiersOf(p), ['anonymousId:a1', 'userId:u1']);
        assert.deepEqual(p?.merges, []);
      });

      test('it merges two existing profiles; the older survives and the merge is recorded', async () => {
        const x = w();
        await x.send(identify('u1'), track({ anonymousId: 'a1' }));
        const at = x.nextAt;
        await x.send(identify('u1', {}, 'a1'));
        const p = await x.profile('anonymousId', 'a1');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(identifiersOf(p), ['anonymousId:a1', 'userId:u1']);
        assert.deepEqual(p?.merges, [merge('p2', 'p1', 'identify', at)]);
        assert.equal(
          (await x.store.identity.getProfile('p2'))?.id,
          'p1',
          'the merged id follows to the survivor',
        );
      });

      test('the oldest profile survives even when the newer one holds the userId', async () => {
        const x = w();
        await x.send(track({ anonymousId: 'a1' }), identify('u1'));
        const at = x.nextAt;
        await x.send(track({ userId: 'u1', anonymousId: 'a1' }));
        const p = await x.profile('userId', 'u1');
        assert.equal(p?.id, 'p1');
        assert.equal(p?.createdAt, receivedAt(1));
        assert.deepEqual(p?.merges, [merge('p2', 'p1', 'identify', at)]);
      });
    });

    describe('alias', () => {
      test('previousId naming an anonymousId merges its profile (cause alias)', async () => {
        const x = w();
        await x.send(track({ anonymousId: 'a1' }), identify('u1'));
        const at = x.nextAt;
        await x.send(alias('u1', 'a1'));
        const p = await x.profile('userId', 'u1');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(identifiersOf(p), ['anonymousId:a1', 'userId:u1']);
        assert.deepEqual(p?.merges, [merge('p2', 'p1', 'alias', at)]);
      });

      test('an unknown previousId is attached as an anonymousId', async () => {
        const x = w();
        await x.send(identify('u1'), alias('u1', 'never-seen'));
        assert.equal(await x.idOf('anonymousId', 'never-seen'), 'p1');
      });

      test('previousId naming a userId merges when two userIds are allowed', async () => {
        const x = w({ limits: { ...DEFAULTS.limits, userId: 2 } });
        await x.send(identify('old-id'), identify('new-id'));
        const at = x.nextAt;
        await x.send(alias('new-id', 'old-id'));
        const p = await x.profile('userId', 'new-id');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(identifiersOf(p), ['userId:new-id', 'userId:old-id']);
        assert.deepEqual(p?.merges, [merge('p2', 'p1', 'alias', at)]);
      });

      test('previousId naming a userId does not merge under the one-userId guard', async () => {
        const x = w();
        await x.send(identify('old-id'), identify('new-id'), alias('new-id', 'old-id'));
        assert.equal(await x.idOf('userId', 'old-id'), 'p1');
        assert.equal(await x.idOf('userId', 'new-id'), 'p2');
        assert.deepEqual((await x.profile('userId', 'old-id'))?.merges, []);
      });
    });

    describe('email and phone', () => {
      test('an email already owned by another profile merges it (cause email)', async () => {
        const x = w();
        await x.send(identify('u1'), identifyAnonymous('a2', { email: 'ann@example.com' }));
        const at = x.nextAt;
        await x.send(identify('u1', { email: '  Ann@Example.COM ' }));
        const p = await x.profile('email', 'ann@example.com');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(identifiersOf(p), ['anonymousId:a2', 'email:ann@example.com', 'userId:u1']);
        assert.deepEqual(p?.merges, [merge('p2', 'p1', 'email', at)]);
      });

      test('an anonymous visitor giving an email another profile owns merges with cause email', async () => {
        // The link is the email, whichever identifier happens to decide the target profile.
        const x = w();
        await x.send(identify('u1', { email: 'ann@example.com' }), track({ anonymousId: 'a2' }));
        const at = x.nextAt;
        await x.send(identifyAnonymous('a2', { email: 'ann@example.com' }));
        const p = await x.profile('anonymousId', 'a2');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(p?.merges, [merge('p2', 'p1', 'email', at)]);
      });

      const phones: [region: string, first: string, second: string, e164: string][] = [
        ['US', '(415) 555-2671', '+1 415 555 2671', '+14155552671'],
        ['GB', '07911 123456', '+44 7911 123456', '+447911123456'],
        ['US', '0044 7911 123456', '+447911123456', '+447911123456'],
      ];
      for (const [region, first, second, e164] of phones) {
        test(`phones "${first}" and "${second}" (default ${region}) merge as ${e164} (cause phone)`, async () => {
          const x = w({ phone: { defaultRegion: region } });
          await x.send(identify('u1'), identifyAnonymous('a2', { phone: first }));
          const at = x.nextAt;
          await x.send(track({ userId: 'u1' }, { phone: second }));
          const p = await x.profile('phone', e164);
          assert.equal(p?.id, 'p1');
          assert.deepEqual(identifiersOf(p), ['anonymousId:a2', `phone:${e164}`, 'userId:u1']);
          assert.deepEqual(p?.merges, [merge('p2', 'p1', 'phone', at)]);
          assert.deepEqual(p?.traits.phone?.value, e164);
        });
      }

      test('mergeOn without email leaves profiles sharing an email apart', async () => {
        const x = w(noMergeOn('email'));
        await x.send(
          identify('u1'),
          identifyAnonymous('a2', { email: 'ann@example.com' }),
          identify('u1', { email: 'ann@example.com' }),
          identify('u3', { email: 'bob@example.com' }),
          track({ anonymousId: 'a4' }),
          identifyAnonymous('a4', { email: 'bob@example.com' }),
        );
        assert.equal(await x.idOf('userId', 'u1'), 'p1');
        assert.equal(await x.idOf('email', 'ann@example.com'), 'p2');
        assert.equal(await x.idOf('userId', 'u3'), 'p3');
        assert.equal(await x.idOf('anonymousId', 'a4'), 'p4');
        for (const id of ['p1', 'p2', 'p3', 'p4'])
          assert.deepEqual((await x.store.identity.getProfile(id))?.merges, []);
      });

      test('mergeOn without phone leaves profiles sharing a phone apart', async () => {
        const x = w(noMergeOn('phone'));
        await x.send(identify('u1'), identifyAnonymous('a2', { phone: '+14155552671' }));
        await x.send(identify('u1', { phone: '(415) 555-2671' }));
        assert.equal(await x.idOf('userId', 'u1'), 'p1');
        assert.equal(await x.idOf('phone', '+14155552671'), 'p2');
      });

      test('mergeOn without identify keeps a known anonymous profile apart from the userId', async () => {
        const x = w(noMergeOn('identify'));
        await x.send(identify('u1'), track({ anonymousId: 'a1' }), identify('u1', {}, 'a1'));
        assert.equal(await x.idOf('userId', 'u1'), 'p1');
        assert.equal(await x.idOf('anonymousId', 'a1'), 'p2');
      });
    });

    describe('priority', () => {
      // u1 and the email are on different profiles and email merges are off: the identifier
      // that comes first decides which profile the message (and its traits) belongs to.
      const cases: [name: string, priority: IdentifierKind[], winner: string][] = [
        ['userId first', ['userId', 'email', 'phone', 'anonymousId'], 'p1'],
        ['email first', ['email', 'userId', 'phone', 'anonymousId'], 'p2'],
      ];
      for (const [name, priority, winner] of cases) {
        test(`${name}: the message goes to ${winner}`, async () => {
          const x = w({ priority, ...noMergeOn('email') });
          await x.send(
            identify('u1'),
            identifyAnonymous('a2', { email: 'ann@example.com' }),
            identify('u1', { email: 'ann@example.com', plan: 'gold' }),
          );
          const p = await x.store.identity.getProfile(winner);
          assert.equal(p?.traits.plan?.value, 'gold');
          assert.equal(await x.idOf('userId', 'u1'), 'p1');
          assert.equal(await x.idOf('email', 'ann@example.com'), 'p2');
        });
      }
    });

    describe('merge chains', () => {
      test('A into B, then B into C: every identifier points at C and both merges are recorded', async () => {
        const x = w();
        // p1 = C (oldest), p2 = B, p3 = A.
        await x.send(identify('u1'), track({ anonymousId: 'a1' }), track({ anonymousId: 'a2' }));
        await x.send(identifyAnonymous('a1', { email: 'ann@example.com' }));
        const firstAt = x.nextAt;
        await x.send(identifyAnonymous('a2', { email: 'ann@example.com' }));
        const secondAt = x.nextAt;
        await x.send(identify('u1', {}, 'a1'));
        for (const [kind, value] of [
          ['userId', 'u1'],
          ['anonymousId', 'a1'],
          ['anonymousId', 'a2'],
          ['email', 'ann@example.com'],
        ] as const) {
          assert.equal(await x.idOf(kind, value), 'p1', `${kind}:${value}`);
        }
        for (const id of ['p1', 'p2', 'p3'])
          assert.equal((await x.store.identity.getProfile(id))?.id, 'p1', id);
        const snapshot = await x.store.identity.snapshot([{ kind: 'anonymousId', value: 'a2' }]);
        assert.deepEqual(
          snapshot.profiles.map((p) => p.id),
          ['p1'],
        );
        const merges = (await x.store.identity.getProfile('p1'))?.merges ?? [];
        assert.deepEqual(
          [...merges].sort((a, b) => a.at - b.at),
          [merge('p3', 'p2', 'email', firstAt), merge('p2', 'p1', 'identify', secondAt)],
        );
      });

      test('one message linking three profiles merges both into the oldest', async () => {
        const x = w();
        await x.send(
          identifyAnonymous('a3', { email: 'ann@example.com' }),
          identify('u1'),
          track({ anonymousId: 'a2' }),
        );
        await x.send(track({ userId: 'u1', anonymousId: 'a2' }, { email: 'ann@example.com' }));
        const p = await x.profile('userId', 'u1');
        assert.equal(p?.id, 'p1');
        assert.deepEqual(identifiersOf(p), [
          'anonymousId:a2',
          'anonymousId:a3',
          'email:ann@example.com',
          'userId:u1',
        ]);
        assert.equal(p?.merges.length, 2);
      });
    });
  });
}
