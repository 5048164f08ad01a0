import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { Browser } from '../helpers/browser.ts';
import { ARTIFACTS, browserUnavailable, launchBrowser } from '../helpers/browser.ts';
import type { DemoServer } from '../helpers/demo-server.ts';
import { ADMIN_TOKEN, demoServer } from '../helpers/demo-server.ts';
import { rawSql } from '../helpers/store.ts';

// The numbers behind the numbers: match rate breakdown, the profiles behind each, overlap, lists.
const skip = browserUnavailable();

describe('dashboard drill-down in a browser', { skip }, () => {
  let demo: DemoServer;
  let browser: Browser;
  let page: Page;
  const violations: string[] = [];

  before(async () => {
    demo = await demoServer();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${demo.url}/`);
    await page.fill('form.login input', ADMIN_TOKEN);
    await page.click('form.login button');
    await page.locator('tr[data-audience]').first().waitFor();
  });
  after(async () => {
    await browser?.close();
    await demo?.close();
  });

  const text = async (selector: string) => (await page.locator(selector).first().textContent())?.trim();
  const members = async (key: string) => demo.h.app.store.audiences.members(key);
  const emailOf = async (profileId: string) =>
    (await demo.h.app.store.identity.getProfile(profileId))?.identifiers.find((i) => i.kind === 'email');

  test('match rate breakdown: every member counted once, each count a link to its profiles', async () => {
    await page.goto(`${demo.url}/#/audiences/cart_0_2m`);
    await page.locator('#match tr[data-standing]').first().waitFor();
    const all = await members('cart_0_2m');
    const shown: Record<string, number> = {};
    for (const standing of ['held', 'pending', 'no_identifier', 'refused', 'held_out'])
      shown[standing] = Number(await text(`#match tr[data-standing=${standing}] a`));
    assert.equal(
      Object.values(shown).reduce((a, b) => a + b, 0),
      all.length,
      JSON.stringify(shown),
    );
    assert.equal(shown.held_out, all.filter((m) => m.heldOut).length);
    const items = (await demo.h.app.store.sync.items('cordial')).filter((i) => i.audience === 'cart_0_2m');
    const treated = all.filter((m) => !m.heldOut).map((m) => m.profileId);
    const withItem = new Set(items.map((i) => i.profileId));
    const noEmail = [];
    for (const id of treated) if (!withItem.has(id) && (await emailOf(id)) === undefined) noEmail.push(id);
    assert.ok(noEmail.length > 0, 'the demo has members without an email');
    assert.equal(shown.no_identifier, noEmail.length);
    assert.equal(
      shown.held,
      treated.filter((id) =>
        items.some((i) => i.profileId === id && i.desired && i.sent && i.state !== 'dead'),
      ).length,
    );

    await page.click('#match tr[data-standing=no_identifier] a');
    await page.locator('#download-csv').waitFor();
    assert.equal(await page.title(), 'cart_0_2m profiles · Handoff');
    const listed = await page
      .locator('tr[data-profile]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-profile')));
    assert.deepEqual([...listed].sort(), [...noEmail].sort());

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split('\r\n');
    assert.equal(csv[0], 'profile_id,label,since,standing');
    assert.deepEqual(
      csv
        .slice(1)
        .map((l) => l.split(',')[0])
        .sort(),
      [...noEmail].sort(),
    );
    assert.ok(csv.slice(1).every((l) => l.endsWith(',no_identifier')));
  });

  test('the profiles endpoint answers CSV, and names an unknown filter', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const res = await fetch(`${demo.url}/api/admin/audiences/cart_0_2m/profiles?format=csv`, {
      headers: auth,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    const rows = (await res.text()).trim().split('\r\n');
    assert.equal(rows.length - 1, (await members('cart_0_2m')).length);
    const bad = await fetch(`${demo.url}/api/admin/audiences/cart_0_2m/profiles?standing=gone`, {
      headers: auth,
    });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: { message: string } }).error.message, /^query\.standing: /);
    const unknown = await fetch(`${demo.url}/api/admin/audiences/cart_0_2m/profiles?alsoIn=nope`, {
      headers: auth,
    });
    assert.equal(unknown.status, 404);
  });

  test('overlap: each cell is the members in both audiences, and links to them', async () => {
    await page.goto(`${demo.url}/#/overlap`);
    await page.locator('#overlap tr[data-audience]').first().waitFor();
    assert.equal(await page.title(), 'Overlap · Handoff');
    const keys = demo.h.app.config.audiences.map((a) => a.key);
    const ids = new Map<string, Set<string>>();
    for (const k of keys) ids.set(k, new Set((await members(k)).map((m) => m.profileId)));
    let best: [string, string, number] = ['', '', 0];
    for (const a of keys)
      for (const b of keys) {
        const both = a === b ? ids.get(a)!.size : [...ids.get(a)!].filter((id) => ids.get(b)!.has(id)).length;
        assert.equal(
          await text(`#overlap tr[data-audience="${a}"] td[data-with="${b}"]`),
          String(both),
          `${a} × ${b}`,
        );
        if (a !== b && both > best[2]) best = [a, b, both];
      }
    assert.ok(best[2] > 0, 'the demo audiences overlap');
    await page.click(`#overlap tr[data-audience="${best[0]}"] td[data-with="${best[1]}"] a`);
    await page.locator('#download-csv').waitFor();
    assert.equal(await page.locator('tr[data-profile]').count(), best[2]);
  });

  test('a profile shows the Cordial lists it is on by the ledger', async () => {
    const items = await demo.h.app.store.sync.items('cordial');
    const on = items.find((i) => i.sent === true && i.desired)!;
    assert.ok(on, 'someone is on a list');
    await page.goto(`${demo.url}/#/profiles/${encodeURIComponent(`profile:${on.profileId}`)}`);
    await page.locator('#lists [data-field=onLists]').waitFor();
    const lists = [
      ...new Set(items.filter((i) => i.profileId === on.profileId && i.sent).map((i) => i.list)),
    ];
    assert.equal(
      await text('#lists [data-field=onLists]'),
      `On ${lists.length} Cordial list(s), by the sync ledger: ${lists.sort().join(', ')}.`,
    );
  });

  test('sync: every synced audience is queued, dead letters grouped by reason, retried and skipped', async () => {
    await page.goto(`${demo.url}/#/sync`);
    await page.locator('.dead-letter-group').first().waitFor();
    for (const t of demo.h.app.config.targets)
      assert.equal(await page.locator(`tr[data-audience="${t.audience}"]`).count(), 1, t.audience);
    const dead = await demo.h.app.store.sync.deadLetters('cordial');
    assert.ok(dead.length >= 2, 'the demo has dead letters to retry and to skip');
    assert.equal(await page.locator('.dead-letter-group').count(), 1, 'one reason');
    assert.equal(await text('.dead-letter-group .reason'), `${dead.length} refused: injected 422 error`);
    assert.match(
      (await text('.dead-letter-group h3')) ?? '',
      /HTTP 422, GENERIC_ERROR_KEY\. Fix at the source/,
    );

    const first = dead[0]!;
    await page.click(`tr.dead-letter[data-contact="${first.contact}"] button.retry`);
    await page.locator('#retry-status', { hasText: 'queued again' }).waitFor();
    assert.equal(await text('#retry-status'), '1 dead letter(s) queued again');
    assert.equal((await demo.h.app.store.sync.deadLetters('cordial')).length, dead.length - 1);

    await page.reload();
    await page.locator('.dead-letter-group').first().waitFor();
    const sentBefore = demo.fake.requests.length;
    await page.click('.dead-letter-group .toolbar button.skip');
    await page.locator('#retry-status', { hasText: 'skipped' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dead-letters.png'), fullPage: true });
    assert.equal(
      await text('#retry-status'),
      `${dead.length - 1} dead letter(s) skipped: resolved without sending, recorded in the sync log`,
    );
    assert.equal((await demo.h.app.store.sync.deadLetters('cordial')).length, 0);
    assert.equal(demo.fake.requests.length, sentBefore, 'a skip sends nothing');
    const db = rawSql(demo.h);
    try {
      const skipped = await db.query<{ contact: string; message: string }>(
        "SELECT contact, message FROM sync_log WHERE result = 'skipped' ORDER BY contact",
      );
      assert.deepEqual(
        skipped.map((r) => r.contact),
        dead
          .slice(1)
          .map((d) => d.contact)
          .sort(),
      );
      assert.ok(skipped.every((r) => r.message === 'skipped from the dashboard'));
    } finally {
      await db.close();
    }
    const again = await fetch(`${demo.url}/api/admin/sync/dead-letters/skip`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ contact: dead[1]!.contact, list: dead[1]!.list }] }),
    });
    assert.equal(again.status, 404, 'a dead letter is skipped once');
  });

  test('nothing was refused by the Content-Security-Policy', () => {
    assert.deepEqual(violations, []);
  });
});
