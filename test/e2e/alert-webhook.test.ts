import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from '../helpers/harness.ts';
import { WRITE_KEYS, basic, harness } from '../helpers/harness.ts';
import { CART_AND_PURCHASERS } from '../helpers/cordial-audiences.ts';
import { openApp } from '../../src/app/app.ts';
import { secretValues } from '../../src/app/secrets.ts';

// monitoring.alerts: a Slack-compatible message when a check turns warn or fail and when it
// recovers, never repeated while it stays (not even across a restart), retried when the receiver
// fails, and never holding up the checks.
const received: { text: string }[] = [] as { text: string }[];
/** How the receiver answers the next posts (then 200). */
const answers: number[] = [];
let hold: Promise<void> | undefined;
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    void (async () => {
      await hold;
      const status = answers.shift() ?? 200;
      if (status === 200) received.push(JSON.parse(body) as { text: string });
      res.writeHead(status).end();
    })();
  });
});
let fake: FakeCordial;
let h: Harness;

before(async () => {
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/T000/B000/secret-token`;
  fake = await startFakeCordial();
  h = await harness({
    extra: stringify({
      monitoring: { alerts: [{ webhook: { url: { env: 'HANDOFF_ALERT_WEBHOOK_URL' } } }] },
      destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000 } },
      audiences: CART_AND_PURCHASERS,
    }),
    env: { CORDIAL_KEY: fake.apiKey, HANDOFF_ALERT_WEBHOOK_URL: url },
  });
  await h.listen();
});
after(async () => {
  await h.close();
  await fake.close();
  await new Promise((resolve) => receiver.close(resolve));
});

/** The messages about one check, in order. */
const about = (check: string): string[] =>
  received.map((r) => r.text).filter((t) => t.includes(` ${check} for `));

async function until(what: string, done: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; received ${JSON.stringify(received)}`);
    await sleep(20);
  }
}

test('the webhook URL is a secret: read from the environment and redacted', () => {
  assert.equal(h.app.config.monitoring.alerts[0]?.webhook.url.env, 'HANDOFF_ALERT_WEBHOOK_URL');
  assert.ok(secretValues(h.app.config).some((v) => v.includes('secret-token')));
});

test('a failing check alerts once, with its cause and next step; recovery is announced once', async () => {
  const checks = h.app.monitor.checks;
  await checks.runOnce();
  await sleep(200);
  assert.deepEqual(received, [], 'passing checks say nothing');

  // Cordial refuses ann's contact: a dead letter. The receiver fails the first delivery.
  fake.faults.set({ failNext: [{ status: 404 }, { status: 422 }] });
  const res = await fetch(`${h.url}/v1/batch`, {
    method: 'POST',
    headers: { authorization: basic(WRITE_KEYS.web), 'content-type': 'application/json' },
    body: JSON.stringify({
      batch: [
        { type: 'identify', userId: 'ann', traits: { email: 'ann@example.com' }, messageId: 'a1' },
        { type: 'track', userId: 'ann', event: 'Product Added', messageId: 'a2' },
      ],
    }),
  });
  assert.equal(res.status, 200);
  await h.app.settle();
  answers.push(500);
  // The receiver holds its answer: the checks do not wait for it.
  let release!: () => void;
  hold = new Promise((resolve) => (release = resolve));
  const snapshot = await checks.runOnce();
  const failing = snapshot.audiences
    .flatMap((a) => a.checks)
    .find((c) => c.check === 'dead_letters' && c.status === 'fail');
  assert.ok(failing, 'the dead letter fails its check');
  assert.deepEqual(received, []);
  release();
  hold = undefined;
  // Ann is not on the list either: the match rate warns too. Each change is one message.
  await until('the alerts', () => received.length === 2);
  assert.equal(answers.length, 0, 'the first delivery was refused, and retried');
  const dead = about('dead_letters');
  assert.equal(dead.length, 1, JSON.stringify(received));
  assert.match(dead[0]!, /FAIL: dead_letters for audience cart_0_4h at cordial\. 1 dead letter/);
  assert.match(dead[0]!, /Next step: .*handoff sync retry/);
  const match = about('match_rate');
  assert.equal(match.length, 1);
  assert.match(match[0]!, /WARN: match_rate for audience cart_0_4h at cordial\. 0 of 1 members/);

  // A delivered alert is recorded once its webhook has answered: a restart before that may repeat it.
  for (const end = Date.now() + 15_000; ; await sleep(20)) {
    const kept = [...(await h.app.store.alerts.alertStates()).values()];
    if (kept.includes('fail') && kept.includes('warn')) break;
    if (Date.now() > end) assert.fail(`the delivered alerts were never recorded: ${JSON.stringify(kept)}`);
  }
  // Still failing: no repeat, from this process or from a restarted one on the same database.
  await checks.runOnce();
  const restarted = await openApp({ config: h.app.config });
  try {
    await restarted.monitor.checks.runOnce();
    await sleep(300);
    // (Size drift may change as samples accrue; it is announced on its own.)
    assert.equal(about('dead_letters').length, 1, JSON.stringify(received));
    assert.equal(about('match_rate').length, 1, JSON.stringify(received));
  } finally {
    await restarted.stop();
  }

  // Retried and delivered: recovered, announced once.
  assert.equal(await h.app.store.sync.retry('cordial'), 1);
  await h.app.settle();
  await checks.runOnce();
  await until('the recoveries', () => about('dead_letters').length === 2 && about('match_rate').length === 2);
  assert.match(
    about('dead_letters')[1]!,
    /RECOVERED: dead_letters for audience cart_0_4h at cordial .*was fail/,
  );
  assert.match(about('match_rate')[1]!, /RECOVERED: match_rate for audience cart_0_4h at cordial .*was warn/);
  await checks.runOnce();
  await sleep(300);
  assert.equal(about('dead_letters').length, 2);
  assert.equal(about('match_rate').length, 2);
});
