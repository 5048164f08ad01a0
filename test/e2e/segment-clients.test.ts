import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Analytics } from '@segment/analytics-node';
import { Analytics as CioAnalytics } from '@customerio/cdp-analytics-node';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, harness, sequentialIds } from '../helpers/harness.ts';

// Existing clients must work unchanged: only their host points at Handoff.
let h: Harness;
before(async () => {
  h = await harness({ newProfileId: sequentialIds() });
  await h.listen();
});
after(() => h.close());

describe('the unmodified @segment/analytics-node client', () => {
  test('identify, track, page, screen, group and alias arrive exactly as sent', async () => {
    const analytics = new Analytics({ writeKey: WRITE_KEYS.web, host: h.url, flushAt: 50, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    const timestamp = new Date('2026-11-28T21:10:00.000Z');
    analytics.identify({
      anonymousId: 'anon-seg',
      userId: 'seg-user',
      traits: { email: ' Ann.Lee+promo@Example.com ', first_name: 'Ann' },
      timestamp,
    });
    analytics.track({
      userId: 'seg-user',
      event: 'Product Added',
      properties: { product_id: 'bundle-01', price: 49.9 },
      timestamp,
    });
    analytics.page({ anonymousId: 'anon-seg', name: 'Home', properties: { path: '/' } });
    analytics.screen({ userId: 'seg-user', name: 'Cart' });
    analytics.group({ userId: 'seg-user', groupId: 'acme', traits: { plan: 'pro' } });
    analytics.alias({ userId: 'seg-user', previousId: 'old-seg-id' });
    await analytics.closeAndFlush();
    assert.deepEqual(errors, []);

    const events = (await h.app.store.events.readAfter(0, 100)).filter((e) => e.sourceId === 'web');
    assert.deepEqual(
      events.map((e) => [e.type, e.userId, e.anonymousId, e.name]),
      [
        ['identify', 'seg-user', 'anon-seg', null],
        ['track', 'seg-user', null, 'Product Added'],
        ['page', null, 'anon-seg', 'Home'],
        ['screen', 'seg-user', null, 'Cart'],
        ['group', 'seg-user', null, null],
        ['alias', 'seg-user', null, null],
      ],
    );
    const [identify, track] = events;
    assert.ok(identify && track);
    assert.match(identify.messageId, /.+/, 'the client-generated messageId is the dedupe key');
    assert.deepEqual((identify.message as { traits?: unknown }).traits, {
      email: ' Ann.Lee+promo@Example.com ',
      first_name: 'Ann',
    });
    assert.deepEqual((track.message as { properties?: unknown }).properties, {
      product_id: 'bundle-01',
      price: 49.9,
    });
    // The client's clock is this machine's, so skew correction moves the time by at most the send latency.
    assert.ok(
      Math.abs(track.timestamp - timestamp.getTime()) < 5_000,
      `timestamp ${new Date(track.timestamp).toISOString()}`,
    );
    assert.equal(
      (track.message.context as { library?: { name?: string } }).library?.name,
      '@segment/analytics-node',
    );

    await h.app.settle();
    const profile = await h.app.store.identity.findProfile({ kind: 'anonymousId', value: 'anon-seg' });
    assert.ok(profile);
    assert.deepEqual(profile.identifiers.map((i) => `${i.kind}:${i.value}`).sort(), [
      'anonymousId:anon-seg',
      'anonymousId:old-seg-id',
      'email:ann.lee+promo@example.com',
      'userId:seg-user',
    ]);
    assert.equal(
      profile.traits.email?.value,
      'ann.lee+promo@example.com',
      'trimmed and lowercased, plus tag kept',
    );
  });

  test('a wrong write key is reported by the client as an error, and nothing is stored', async () => {
    const before = await h.app.store.events.head();
    const analytics = new Analytics({ writeKey: 'wrong', host: h.url, maxRetries: 0 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    analytics.track({ userId: 'x', event: 'Nope' });
    await analytics.closeAndFlush();
    assert.equal(errors.length, 1);
    assert.equal(await h.app.store.events.head(), before);
  });
});

describe('the unmodified @customerio/cdp-analytics-node client', () => {
  test('its calls are stored under the source of its write key', async () => {
    const cio = new CioAnalytics({
      writeKey: WRITE_KEYS.backend,
      host: h.url,
      maxEventsInBatch: 10,
      maxRetries: 0,
    });
    const errors: unknown[] = [];
    cio.on('error', (e) => errors.push(e));
    cio.identify({ userId: 'cio-user', traits: { email: 'cio@example.com', phone: '(415) 555-2671' } });
    cio.track({
      userId: 'cio-user',
      event: 'Order Completed',
      properties: { order_id: 'o-1', revenue: 120 },
    });
    await cio.closeAndFlush();
    assert.deepEqual(errors, []);

    const events = (await h.app.store.events.readAfter(0, 100)).filter((e) => e.sourceId === 'backend');
    assert.deepEqual(
      events.map((e) => [e.type, e.userId, e.name]),
      [
        ['identify', 'cio-user', null],
        ['track', 'cio-user', 'Order Completed'],
      ],
    );
    assert.deepEqual((events[1]?.message as { properties?: unknown }).properties, {
      order_id: 'o-1',
      revenue: 120,
    });

    await h.app.settle();
    const profile = await h.app.store.identity.findProfile({ kind: 'phone', value: '+14155552671' });
    assert.equal(profile?.identifiers.find((i) => i.kind === 'userId')?.value, 'cio-user');
  });
});
