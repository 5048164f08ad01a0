import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Browser } from '../helpers/browser.ts';
import { ARTIFACTS, browserUnavailable, launchBrowser } from '../helpers/browser.ts';
import type { DemoServer } from '../helpers/demo-server.ts';
import { ADMIN_TOKEN, demoServer } from '../helpers/demo-server.ts';
import { describeDefinition } from '../../src/audiences/describe.ts';

// A real server fed with demo traffic, looked at through headless Chromium.
const skip = browserUnavailable();

describe('dashboard in a browser', { skip }, () => {
  let demo: DemoServer;
  let browser: Browser;
  let page: Page;
  // What the browser refused under the dashboard's Content-Security-Policy, on every page visited.
  const violations: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    demo = await demoServer();
    // A zone with a half-hour offset, so a local time on hover cannot pass for UTC.
    browser = await launchBrowser({ timezoneId: 'Asia/Kolkata' });
    page = await browser.context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  const shot = async (name: string) => {
    const path = join(ARTIFACTS, `dashboard-${name}.png`);
    await page.screenshot({ path, fullPage: true });
    return path;
  };
  const text = async (selector: string) => (await page.locator(selector).first().textContent())?.trim();
  const count = (n: number) => n.toLocaleString('en-US');
  const utc = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
  const kolkata = (ms: number) => `local: ${utc(ms + 330 * 60_000).replace('Z', '')} (UTC+05:30)`;

  test('the page is served with a Content-Security-Policy and may not be framed', async () => {
    const res = await fetch(`${demo.url}/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const api = await fetch(`${demo.url}/api/admin/audiences`);
    assert.equal(api.headers.get('x-content-type-options'), 'nosniff', 'on every response');
  });

  test('the page shell asks for the admin token and shows no data without it', async () => {
    await page.goto(`${demo.url}/`);
    await page.locator('form.login').waitFor();
    assert.equal(await page.title(), 'Sign in · Handoff');
    assert.equal(await page.locator('table').count(), 0);
    await page.fill('form.login input', 'wrong-token');
    await page.click('form.login button');
    await page.locator('#login-error').waitFor();
    assert.equal(await text('#login-error'), 'wrong admin token');
    await shot('login');
  });

  test('audiences: every size and held-out count is the store’s', async () => {
    await page.fill('form.login input', ADMIN_TOKEN);
    await page.click('form.login button');
    await page.locator('tr[data-audience]').first().waitFor();
    assert.equal(await page.title(), 'Audiences · Handoff');
    for (const definition of demo.h.app.config.audiences) {
      const members = await demo.h.app.store.audiences.members(definition.key);
      const row = `tr[data-audience="${definition.key}"]`;
      assert.equal(await text(`${row} td[data-field=size]`), count(members.length), definition.key);
      assert.equal(
        await text(`${row} td[data-field=heldOut]`),
        count(members.filter((m) => m.heldOut).length),
      );
    }
    const counts = await demo.h.app.store.sync.counts('cordial');
    const cart = counts.find((c) => c.audience === 'cart_0_2m')!;
    assert.equal(await text('tr[data-audience="cart_0_2m"] td[data-field=deadLetters]'), count(cart.dead));
    // The dead letter is explained on the page, worst first: its cause and what to do.
    const failing = counts.find((c) => c.dead > 0)!;
    assert.ok(failing, 'the demo server has a dead letter');
    const refused = page.locator(
      `#attention li[data-audience="${failing.audience}"][data-check=dead_letters]`,
    );
    assert.equal(
      (await refused.locator('.cause').textContent())?.trim(),
      `${failing.dead} ${failing.dead === 1 ? 'address' : 'addresses'} refused by Cordial: injected 422 error`,
    );
    assert.match(
      (await refused.locator('.next').textContent()) ?? '',
      /fix at the source, retrying will not help/,
    );
    assert.equal(await page.locator('#attention li').first().getAttribute('class'), 'advice status-fail');
    assert.equal(
      await page.locator('tr[data-audience] .sparkline canvas').count(),
      demo.h.app.config.audiences.length,
    );
    await shot('audiences');
  });

  test('one audience: size, holdout split, charts and its newest members', async () => {
    await page.click('tr[data-audience="purchased_5m"] a');
    await page.locator('[data-field=treated]').waitFor();
    assert.equal(await page.title(), 'purchased_5m · Handoff');
    const members = await demo.h.app.store.audiences.members('purchased_5m');
    const heldOut = members.filter((m) => m.heldOut).length;
    assert.equal(await text('.card [data-field=size]'), count(members.length));
    assert.equal(await text('.card [data-field=treated]'), count(members.length - heldOut));
    assert.equal(await text('.card [data-field=heldOut]'), count(heldOut));
    assert.equal(await page.locator('.chart canvas').count(), 2, 'size and flow charts');
    assert.equal(await page.locator('tr[data-profile]').count(), Math.min(20, members.length));
    // What the audience is: its settings and its definition in the words explanations use.
    const definition = demo.h.app.config.audiences.find((a) => a.key === 'purchased_5m')!;
    assert.equal(await text('#about [data-field=name]'), definition.name);
    assert.equal(await text('#about [data-field=purpose]'), definition.purpose);
    assert.equal(await text('#about [data-field=ttl]'), '5m');
    assert.equal(await text('#about [data-field=channels]'), definition.channels.join(', '));
    assert.equal(await text('#about [data-field=list]'), 'demo-purchased-0-5m');
    assert.equal(await text('#about [data-field=cadence]'), 'realtime');
    assert.equal(await text('#about [data-field=dependencies]'), 'none');
    assert.equal(await text('#about [data-field=dependents]'), 'none');
    // Honest time: no drift figure without history; times in UTC with the local time on hover.
    const api = (await (
      await fetch(`${demo.url}/api/admin/audiences/purchased_5m`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { audience: { drift: number | null } };
    assert.equal(api.audience.drift, null, 'the demo has no 7-day history');
    assert.equal(await text('.card [data-field=drift]'), 'not enough history yet');
    const since = page.locator('tr[data-profile] time').first();
    const sinceMs = Date.parse((await since.getAttribute('datetime'))!);
    assert.equal(await since.textContent(), utc(sinceMs));
    assert.equal(await since.getAttribute('title'), kolkata(sinceMs));
    await shot('audience');
    for (const key of ['purchased_5m', 'cart_0_2m']) {
      await page.goto(`${demo.url}/#/audiences/${key}`);
      await page
        .locator(`#about [data-field=name]`, { hasText: key === 'cart_0_2m' ? 'Cart' : 'Purchased' })
        .waitFor();
      const shown = await page
        .locator('#about [data-field=definition] li')
        .evaluateAll((els) => els.map((e) => e.firstChild?.textContent));
      const condition = demo.h.app.config.audiences.find((a) => a.key === key)!.condition!;
      assert.deepEqual(
        shown,
        describeDefinition(condition).map((l) => l.text),
        key,
      );
    }
    // A hash change keeps the previous page until the new one has its data: wait for this one's.
    await page.goto(`${demo.url}/#/audiences/purchased_5m`);
    await page.locator('#about [data-field=name]', { hasText: definition.name }).waitFor();
    await page.locator('tr[data-profile] a').first().waitFor();
    if (process.env.HANDOFF_DOCS_SCREENSHOT === '1') {
      // README's picture: the audiences list over the last 15 minutes, where the demo's windows
      // show, with what needs attention above it.
      await page.goto(`${demo.url}/#/audiences?range=15m`);
      await page.locator('#attention li').first().waitFor();
      await page.locator('tr[data-audience] .sparkline canvas').first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, '..', 'docs', 'dashboard.png') });
      await page.goBack();
      await page.locator('tr[data-profile] a').first().waitFor();
    }
  });

  test('one profile: identifiers, the reasons it is in an audience, and its events', async () => {
    await page.locator('tr[data-profile] a').first().click();
    await page.locator('section.membership').first().waitFor();
    const id = (await text('h1'))!.replace('Profile ', '');
    const purchased = page.locator('section.membership[data-audience="purchased_5m"]');
    assert.equal(await purchased.getAttribute('data-member'), 'true');
    assert.match((await purchased.textContent()) ?? '', /Order Completed/);
    // "since" shows when the person qualified (the purchase's time) beside when it was processed.
    const entered = (await demo.h.app.store.audiences.changesOf(id))
      .filter((c) => c.audience === 'purchased_5m' && c.change === 'enter')
      .at(-1)!;
    assert.equal(entered.cause.kind, 'event');
    const [purchase] = await demo.h.app.store.events.readAfter(
      entered.cause.kind === 'event' ? entered.cause.offset - 1 : 0,
      1,
    );
    assert.equal(await purchased.locator('[data-field=qualifiedAt]').textContent(), utc(purchase!.timestamp));
    assert.equal(await purchased.locator('[data-field=processedAt]').textContent(), utc(entered.at));
    const verdicts = await demo.h.app.store.audiences.load([id]);
    const memberOf = [...verdicts.get(id)!.memberships.keys()].sort();
    const shown = await page
      .locator('section.membership[data-member=true]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-audience')));
    assert.deepEqual(shown.sort(), memberOf);
    const profile = (await demo.h.app.store.identity.getProfile(id))!;
    const email = profile.identifiers.find((i) => i.kind === 'email')!;
    assert.equal(await text('td[data-field=email]'), email.address);
    assert.ok((await page.locator('tr[data-offset]').count()) > 0);
    await shot('profile');

    // The lookup box finds the same profile by email.
    await page.goto(`${demo.url}/#/audiences`);
    await page.fill('#lookup input', `email:${email.address!}`);
    await page.click('#lookup button');
    await page.locator('h1', { hasText: `Profile ${id}` }).waitFor();
  });

  test('sync: the queue, the dead letter and a retry button that works', async () => {
    const { epoch } = (await demo.h.app.store.leases.acquire('processor', 'dash-host:7:aa', 60_000))!;
    await page.goto(`${demo.url}/#/sync`);
    await page.locator('[data-field=rateLimited]').waitFor();
    // The background jobs' leases: who runs each.
    assert.equal(await text('tr[data-lease="processor"] td[data-field=holder]'), 'dash-host:7:aa');
    assert.equal(await text('tr[data-lease="processor"] td[data-field=epoch]'), String(epoch));
    assert.equal(await text('tr[data-lease="processor"] td[data-field=state]'), 'held');
    const dead = await demo.h.app.store.sync.deadLetters('cordial');
    assert.ok(dead.length > 0, 'the demo server has a dead letter');
    assert.equal(await page.locator('tr.dead-letter').count(), dead.length);
    assert.equal(await text('.card [data-field=deadLetters]'), count(dead.length));
    assert.ok(Number(await text('.card [data-field=rateLimited]')) >= 1, 'the 429 is counted');
    for (const c of await demo.h.app.store.sync.counts('cordial')) {
      assert.equal(await text(`tr[data-audience="${c.audience}"] td[data-field=members]`), count(c.members));
    }
    await shot('sync');
    await page.click('#retry-all');
    await page.locator('#retry-status', { hasText: 'queued again' }).waitFor();
    assert.equal(await text('#retry-status'), `${dead.length} dead letter(s) queued again`);
    assert.equal((await demo.h.app.store.sync.deadLetters('cordial')).length, 0);
    await demo.h.app.settle();
    await page.reload();
    await page.locator('[data-field=deadLetters]').waitFor();
    await page.locator('.card [data-field=deadLetters]', { hasText: /^0$/ }).waitFor();
    assert.equal(await page.locator('tr.dead-letter').count(), 0);
    assert.equal(await text('.card [data-field=deadLetters]'), '0');
    await shot('sync-after-retry');
  });

  test('sync: a quarantined event shows as a card and a row with its error, on the audiences page too', async () => {
    const head = await demo.h.app.store.events.head();
    // A body an older Handoff could have stored: traits nested far deeper than anything serialises.
    const body = `{"type":"identify","userId":"deep","traits":{"x":${'{"a":'.repeat(4_500)}1${'}'.repeat(4_500)}}}`;
    await demo.h.app.store.events.append([
      {
        sourceId: 'web',
        messageId: 'dashboard-poison',
        type: 'identify',
        userId: 'deep',
        anonymousId: null,
        name: null,
        timestamp: Date.now(),
        receivedAt: Date.now(),
        message: { type: 'identify', userId: 'deep' },
        body,
      },
    ]);
    await demo.h.app.settle();
    const [row] = await demo.h.app.store.quarantine.list();
    assert.equal(row?.offset, head + 1);
    await page.goto(`${demo.url}/#/sync`);
    await page.reload();
    await page.locator('.card [data-field=quarantined]', { hasText: /^1$/ }).waitFor();
    assert.equal(await text('.card [data-field=quarantined]'), '1');
    assert.equal(await page.locator('tr.quarantined').count(), 1);
    assert.match(
      (await text(`tr.quarantined[data-offset="${head + 1}"] td.error`)) ?? '',
      /Maximum call stack/,
    );
    await shot('sync-quarantine');
    await page.goto(`${demo.url}/#/audiences`);
    await page.locator('p[data-field=quarantined]').waitFor();
    assert.match((await text('p[data-field=quarantined]')) ?? '', /^1 event\(s\) quarantined/);
  });

  test('nothing the pages above needed was refused by the Content-Security-Policy', () => {
    assert.deepEqual(violations, []);
  });

  test('a favicon is served, so no page logs an error for it', async () => {
    const res = await fetch(`${demo.url}/favicon.ico`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/svg+xml');
    assert.match(await res.text(), /^<svg /);
    // The wrong token's 401 is the one error the pages above should log.
    assert.deepEqual(
      consoleErrors.filter((e) => !/401/.test(e)),
      [],
    );
  });
});
