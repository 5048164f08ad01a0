// A poison event: a row in the log whose body processing cannot read (a corrupted row, or one an
// older Handoff left), written beside a running `serve`. The pipeline must quarantine it and move
// on: the next normal event's audience change commits within 1 s, and the quarantined event shows
// in the admin API, in /metrics and in `handoff events quarantine list`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { Served } from '../helpers/serve-process.ts';
import { HANDOFF_BIN, metric, startServe, stopAll, waitFor } from '../helpers/serve-process.ts';
import { rawSql } from '../helpers/store.ts';
import type { Setup } from './setup.ts';
import { AUDIENCES, SECRETS, adminAuth, segmentAuth, setUp } from './setup.ts';

const POISON_ID = 'poison-1';
const HEALTHY_USER = 'healthy-1';

let setup: Setup;
let served: Served;
let poisonOffset = 0;
let insertedAt = 0;
const log = (line: string) => process.stdout.write(`${line}\n`);

before(async () => {
  setup = await setUp('poison');
  served = await startServe(setup.configFile, setup.env);
});
after(async () => {
  await stopAll();
  await setup?.close();
});

const track = (userId: string, messageId: string) =>
  fetch(`${served.address}/v1/track`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: segmentAuth() },
    body: JSON.stringify({ userId, messageId, event: 'Product Added', properties: { price: 20 } }),
  });

const admin = async (path: string): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${served.address}${path}`, { headers: { authorization: adminAuth() } });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // left as text, for the assertion message
  }
  return { status: res.status, body };
};

interface QuarantineItem {
  offset: number;
  sourceId: string;
  messageId: string;
  type: string;
  error: { code: string; message: string };
  quarantinedAt: number;
  attempts: number;
}

/** Whether `item` is the poison row as the agreed interface describes it. */
function assertPoisonItem(item: QuarantineItem | undefined, where: string): void {
  assert.ok(item, `${where}: no item with offset ${poisonOffset}`);
  assert.equal(item.sourceId, 'web', where);
  assert.equal(item.messageId, POISON_ID, where);
  assert.equal(item.type, 'track', where);
  assert.equal(typeof item.error?.code, 'string', `${where}: error.code`);
  assert.ok(item.error.code.length > 0, `${where}: error.code is empty`);
  assert.equal(typeof item.error.message, 'string', `${where}: error.message`);
  assert.ok(item.error.message.length > 0, `${where}: error.message is empty`);
  assert.equal(typeof item.quarantinedAt, 'number', `${where}: quarantinedAt (ms since the epoch)`);
  assert.ok(
    item.quarantinedAt >= insertedAt - 1_000 && item.quarantinedAt <= Date.now() + 1_000,
    `${where}: quarantinedAt ${item.quarantinedAt} is not within the test's run`,
  );
  assert.ok(Number.isInteger(item.attempts) && item.attempts >= 1, `${where}: attempts ${item.attempts}`);
}

describe('a poison event in the log', () => {
  test('the next normal event moves its audience within 1 s', async () => {
    // Processing is running: a first event has been processed.
    assert.equal((await track('warm-up', 'warm-up-1')).status, 200);
    const warm = await waitFor(
      async () => (await metric(served.address, SECRETS.adminToken, 'handoff_processor_lag_events')) === 0,
      30_000,
    );
    assert.ok(warm, 'the warm-up event was not processed within 30 s');

    const db = rawSql(setup.storage);
    try {
      insertedAt = Date.now();
      const [inserted] = await db.query<{ seq: number }>(
        `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
         VALUES ('web', ?, 'track', 'poison-user', NULL, 'Product Added', ?, ?, ?) RETURNING seq`,
        POISON_ID,
        insertedAt,
        insertedAt,
        '{"type":"track","userId":"poison-user","event":"Product Added","properties":{"price":',
      );
      poisonOffset = Number(inserted?.seq);
    } finally {
      await db.close();
    }
    log(`poison event written at offset ${poisonOffset}`);

    const res = await track(HEALTHY_USER, 'healthy-message-1');
    assert.equal(res.status, 200, await res.text());
    const acknowledgedAt = Date.now();
    let enteredAfter: number | undefined;
    const entered = await waitFor(
      async () => {
        const { status, body } = await admin(`/api/admin/profiles/${HEALTHY_USER}`);
        if (status !== 200) return false;
        const memberships = (body as { memberships: { audience: string; member: boolean }[] }).memberships;
        const member = memberships.some((m) => m.audience === AUDIENCES.cart && m.member);
        if (member) enteredAfter = Date.now() - acknowledgedAt;
        return member;
      },
      10_000,
      20,
    );
    log(
      `the normal event's enter was ${entered ? `committed ${enteredAfter} ms after its acknowledgement` : 'not committed within 10 s'}`,
    );
    assert.ok(
      entered,
      `the normal event never entered ${AUDIENCES.cart} (10 s): processing is stuck behind the poison event`,
    );
    assert.ok(enteredAfter! <= 1_000, `the enter took ${enteredAfter} ms, over 1 s`);
  });

  test('GET /api/admin/quarantine lists the poison event', async () => {
    const { status, body } = await admin('/api/admin/quarantine');
    assert.equal(status, 200, `GET /api/admin/quarantine → ${status} ${JSON.stringify(body).slice(0, 300)}`);
    const items = (body as { items?: QuarantineItem[] }).items;
    assert.ok(Array.isArray(items), 'the response has no items array');
    assert.equal(items.length, 1, JSON.stringify(items));
    assertPoisonItem(
      items.find((i) => i.offset === poisonOffset),
      'GET /api/admin/quarantine',
    );
  });

  test('the /metrics gauge handoff_processor_quarantined_events is 1', async () => {
    const value = await metric(served.address, SECRETS.adminToken, 'handoff_processor_quarantined_events');
    assert.equal(value, 1, `handoff_processor_quarantined_events is ${value ?? 'not in /metrics'}`);
  });

  test('`handoff events quarantine list --json` beside serve lists it', async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(
          process.execPath,
          [HANDOFF_BIN, 'events', 'quarantine', 'list', '--json', '-c', setup.configFile],
          { env: { ...process.env, ...setup.env }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
        );
      },
    );
    assert.equal(code, 0, `exit ${code}:\n${stdout}\n${stderr}`);
    let parsed: unknown;
    assert.doesNotThrow(() => (parsed = JSON.parse(stdout)), `not JSON:\n${stdout}`);
    const items = Array.isArray(parsed)
      ? (parsed as QuarantineItem[])
      : (parsed as { items?: QuarantineItem[] }).items;
    assert.ok(Array.isArray(items), `no list of items in:\n${stdout}`);
    assertPoisonItem(
      items.find((i) => i.offset === poisonOffset),
      'handoff events quarantine list --json',
    );
  });

  test('serve is still running and ingesting', async () => {
    assert.ok(served.alive(), `serve exited:\n${served.output().slice(-3000)}`);
    assert.equal((await track('after-poison', 'after-poison-1')).status, 200);
  });
});
