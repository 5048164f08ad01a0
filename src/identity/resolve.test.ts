import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { configSchema } from '../config/schema.ts';
import { Processor } from '../engine/processor.ts';
import type { IncomingEvent } from '../ingest/event.ts';
import type { Message } from '../ingest/messages.ts';
import { EventBus } from '../shared/bus.ts';
import type { HandoffEvents } from '../engine/events.ts';
import type { Store } from '../store/ports.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { IdentifierKind, IdentityPolicy, MergeRecord, ProfileView } from './model.ts';
import { DELETION_EVENT } from './model.ts';

// Resolution is driven end to end: messages go into a real event log, the Processor resolves
// them, and assertions read only what the Store port exposes.

const DEFAULTS: IdentityPolicy = configSchema.parse({}).identity;
const BASE = Date.UTC(2025, 0, 1);
/** Every message is received one second after the previous one, so profile age follows arrival. */
const receivedAt = (n: number): number => BASE + n * 1000;

interface Spec {
  type?: 'identify' | 'track' | 'alias';
  userId?: string;
  anonymousId?: string;
  previousId?: string;
  /** track: the event name (default Product Viewed). */
  event?: string;
  /** identify: traits; track: context.traits. */
  traits?: Record<string, unknown>;
  /** Event time (ms); defaults to the receive time. */
  ts?: number;
}

const identify = (
  userId: string | undefined,
  traits?: Record<string, unknown>,
  anonymousId?: string,
): Spec => ({
  type: 'identify',
  ...(userId === undefined ? {} : { userId }),
  ...(anonymousId === undefined ? {} : { anonymousId }),
  ...(traits === undefined ? {} : { traits }),
});
const identifyAnonymous = (anonymousId: string, traits?: Record<string, unknown>): Spec =>
  identify(undefined, traits, anonymousId);
const track = (ids: { userId?: string; anonymousId?: string }, traits?: Record<string, unknown>): Spec => ({
  type: 'track',
  ...ids,
  ...(traits === undefined ? {} : { traits }),
});
const alias = (userId: string, previousId: string): Spec => ({ type: 'alias', userId, previousId });

/** Stores the tests opened; closed when the file's tests are done. */
const opened: Store[] = [];
after(() => Promise.all(opened.splice(0).map((s) => s.close())));

/** A store, a processor and a clock-like message counter; profile ids are p1, p2, … in creation order. */
class World {
  private sent = 0;
  private created = 0;
  readonly newProfileId = (): string => `p${++this.created}`;
  readonly processor: Processor;

  constructor(
    readonly store: Store,
    readonly policy: IdentityPolicy = DEFAULTS,
    readonly batchSize = 1000,
  ) {
    opened.push(store);
    this.processor = this.newProcessor();
  }

  newProcessor(): Processor {
    return new Processor({
      store: this.store,
      policy: this.policy,
      bus: new EventBus<HandoffEvents>(),
      newProfileId: this.newProfileId,
      batchSize: this.batchSize,
    });
  }

  /** The receive time the next message will get. */
  get nextAt(): number {
    return receivedAt(this.sent + 1);
  }

  /** Appends the messages (one append, so a large batch resolves them in one working set), then drains. */
  async send(...specs: Spec[]): Promise<number> {
    await this.append(...specs);
    return this.processor.drain();
  }

  async append(...specs: Spec[]): Promise<void> {
    await this.store.events.append(specs.map((s) => this.event(s)));
  }

  profile(kind: IdentifierKind, value: string): Promise<ProfileView | undefined> {
    return this.store.identity.findProfile({ kind, value });
  }

  async idOf(kind: IdentifierKind, value: string): Promise<string | undefined> {
    return (await this.profile(kind, value))?.id;
  }

  private event(spec: Spec): IncomingEvent {
    const n = ++this.sent;
    const at = receivedAt(n);
    const type = spec.type ?? 'track';
    const ids = { userId: spec.userId ?? null, anonymousId: spec.anonymousId ?? null };
    const base = { messageId: `m${n}`, ...(spec.userId ? { userId: spec.userId } : {}) };
    const withAnonymous = spec.anonymousId ? { ...base, anonymousId: spec.anonymousId } : base;
    let message: Message;
    if (type === 'identify') message = { ...withAnonymous, type, traits: spec.traits ?? {} };
    else if (type === 'alias') message = { ...withAnonymous, type, previousId: spec.previousId ?? '' };
    else
      message = {
        ...withAnonymous,
        type,
        event: spec.event ?? 'Product Viewed',
        context: { traits: spec.traits ?? {} },
      };
    return {
      sourceId: 'web',
      messageId: `m${n}`,
      type,
      ...ids,
      name: type === 'track' ? (spec.event ?? 'Product Viewed') : null,
      timestamp: spec.ts ?? at,
      receivedAt: at,
      message,
    };
  }
}

const world = (policy: Partial<IdentityPolicy> = {}, batchSize?: number): World =>
  new World(createSqliteStore(':memory:'), { ...DEFAULTS, ...policy }, batchSize);

const identifiersOf = (p: ProfileView | undefined): string[] =>
  (p?.identifiers ?? []).map((i) => `${i.kind}:${i.value}`).sort();

const merge = (from: string, into: string, cause: MergeRecord['cause'], at: number): MergeRecord => ({
  from,
  into,
  cause,
  at,
});

const noMergeOn = (cause: MergeRecord['cause']): Partial<IdentityPolicy> => ({
  mergeOn: DEFAULTS.mergeOn.filter((c) => c !== cause),
});

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

/**
 * Each event's profile, and how many history rows hold them. The Store port does not expose a
 * profile's events, so this reads the SQLite tables directly.
 */
function historyOf(path: string): { events: unknown[]; rows: unknown } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      events: db.prepare('SELECT profile_id, seq FROM profile_events ORDER BY seq').all(),
      rows: db.prepare('SELECT count(*) FROM profile_history').pluck().get(),
    };
  } finally {
    db.close();
  }
}

describe('durability of resolution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-resolve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a merge keeps both profiles’ events on the survivor', async () => {
    const path = join(dir, 'history.db');
    const x = new World(createSqliteStore(path));
    await x.send(
      identify('u1'),
      track({ anonymousId: 'a1' }),
      track({ anonymousId: 'a1' }),
      identify('u1', {}, 'a1'),
    );
    await x.store.close();
    assert.deepEqual(
      historyOf(path).events,
      [1, 2, 3, 4].map((seq) => ({ profile_id: 'p1', seq })),
    );
  });

  test('merges within one batch hand every event to the survivor, in one history row', async () => {
    const path = join(dir, 'chain.db');
    const x = new World(createSqliteStore(path));
    await x.send(
      track({ anonymousId: 'a1' }),
      track({ anonymousId: 'a2' }),
      identify('u1'),
      identify('u1', {}, 'a1'),
      identify('u1', {}, 'a2'),
      track({ userId: 'u1' }),
    );
    await x.store.close();
    const { events, rows } = historyOf(path);
    assert.deepEqual(
      events,
      [1, 2, 3, 4, 5, 6].map((seq) => ({ profile_id: 'p1', seq })),
    );
    assert.equal(rows, 1);
  });

  test('a deletion takes the events of its own batch with it; other profiles keep theirs', async () => {
    const x = world();
    await x.send(
      track({ userId: 'u1' }),
      track({ userId: 'u2' }),
      track({ anonymousId: 'a1' }),
      identify('u1', {}, 'a1'),
      { type: 'track', userId: 'u1', event: DELETION_EVENT },
    );
    assert.equal(await x.idOf('userId', 'u1'), undefined);
    const left = await x.store.events.readAfter(0, 10);
    assert.deepEqual(
      left.map((e) => e.offset),
      [2],
      'only u2 remains',
    );
    assert.deepEqual(
      (await x.store.audiences.history([(await x.idOf('userId', 'u2'))!])).map((e) => e.offset),
      [2],
    );
  });

  test('a new processor on the same store resumes at the cursor and creates nothing twice', async () => {
    const x = world({}, 2);
    await x.send(
      identify('u1', { email: 'ann@example.com' }),
      track({ anonymousId: 'a1' }),
      identify('u1', {}, 'a1'),
    );
    const before = await x.store.identity.getProfile('p1');
    // A restarted processor whose id generator starts over: replaying anything would reuse p1.
    const restarted = new Processor({
      store: x.store,
      policy: DEFAULTS,
      bus: new EventBus<HandoffEvents>(),
      newProfileId: () => 'p1',
    });
    assert.equal(await restarted.drain(), 0);
    assert.deepEqual(await x.store.identity.getProfile('p1'), before);
    await x.append(track({ anonymousId: 'a9' }), track({ userId: 'u1', anonymousId: 'a9' }));
    const next = x.newProcessor();
    assert.equal(await next.drain(), 2);
    assert.deepEqual(identifiersOf(await x.profile('userId', 'u1')), [
      'anonymousId:a1',
      'anonymousId:a9',
      'email:ann@example.com',
      'userId:u1',
    ]);
    assert.equal(await x.store.cursors.get('processor'), await x.store.events.head());
  });

  test('a failed commit applies nothing; the next run processes the batch once', async () => {
    const store = createSqliteStore(':memory:');
    let failures = 1;
    const flaky: Store = {
      ...store,
      commit: (batch) => {
        if (failures-- > 0) return Promise.reject(new Error('disk full'));
        return store.commit(batch);
      },
    };
    const x = new World(flaky);
    await x.append(identify('u1', {}, 'a1'), track({ anonymousId: 'a2' }), identify('u1', {}, 'a2'));
    await assert.rejects(x.processor.drain(), /disk full/);
    assert.equal(await store.cursors.get('processor'), 0);
    assert.equal(await x.idOf('userId', 'u1'), undefined);
    assert.equal(await x.newProcessor().drain(), 3);
    const p = await x.profile('userId', 'u1');
    assert.deepEqual(identifiersOf(p), ['anonymousId:a1', 'anonymousId:a2', 'userId:u1']);
  });

  test('two processors on one cursor: the stale one carries on from where the other stopped', async () => {
    const x = world({}, 1);
    const other = x.newProcessor();
    await x.send(identify('u1'));
    assert.equal(await other.drain(), 0, 'it reads the cursor the first processor moved');
    await x.append(track({ anonymousId: 'a1' }), identify('u1', {}, 'a1'));
    assert.equal(await x.processor.processBatch(), 1);
    // `other` last saw offset 1; its commit from there is refused and it re-reads the cursor.
    assert.equal(await other.drain(), 1);
    const p = await x.profile('anonymousId', 'a1');
    assert.equal(p?.id, 'p1');
    assert.equal(p?.merges.length, 1);
    assert.equal(await x.store.cursors.get('processor'), 3);
  });
});
