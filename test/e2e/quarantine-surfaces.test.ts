import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Harness } from '../helpers/harness.ts';
import { harness } from '../helpers/harness.ts';
import { runCli } from '../helpers/cli.ts';
import { rawSql } from '../helpers/store.ts';

// A corrupted row (its body is not JSON) is quarantined; every surface shows it; once the row is
// repaired, a retry processes it and every surface clears.
const ADMIN = 'quarantine-admin-token';
const audiences = [
  {
    key: 'known_email',
    name: 'CI | Known | Email',
    purpose: 'reachable',
    channels: ['email'],
    ttl: 'none',
    condition: { type: 'trait', trait: 'plan', op: 'eq', value: 'pro' },
  },
];

let h: Harness;
let configFile: string;
const cli = (...args: string[]) => runCli(configFile, { WEB_KEY: 'k', ADMIN_TOKEN: ADMIN }, ...args);
const admin = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
  h.server.inject({
    method,
    url,
    headers: { authorization: `Bearer ${ADMIN}` },
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
const metric = async (name: string): Promise<number | undefined> => {
  const text = (await admin('GET', '/metrics')).body;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{}`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
};

before(async () => {
  h = await harness({
    extra: stringify({ server: { adminToken: { env: 'ADMIN_TOKEN' } }, audiences }),
    env: { ADMIN_TOKEN: ADMIN },
  });
  configFile = join(h.dir, 'handoff.yaml');
  writeFileSync(
    configFile,
    stringify({
      storage: h.storage.section,
      sources: [{ id: 'web', writeKey: { env: 'WEB_KEY' } }],
      server: { adminToken: { env: 'ADMIN_TOKEN' } },
      audiences,
    }),
  );
  const raw = rawSql(h);
  const insert = (...row: unknown[]) =>
    raw.exec(
      `INSERT INTO events (source_id, message_id, type, user_id, anonymous_id, name, ts, received_at, body)
       VALUES ('web', ?, 'identify', ?, NULL, NULL, ?, ?, ?)`,
      ...row,
    );
  const now = Date.now();
  await insert('ok-1', 'before', now, now, '{"type":"identify","userId":"before","traits":{"plan":"pro"}}');
  await insert('broken', 'broken', now, now, '{"type":"identify","userId":"broken","traits":{"plan":"pro"');
  await insert('ok-2', 'after', now, now, '{"type":"identify","userId":"after","traits":{"plan":"pro"}}');
  await raw.close();
  await h.app.processor.drain();
});
after(() => h.close());

describe('a quarantined event is visible everywhere and can be retried', () => {
  test('the events either side are processed; the broken one is quarantined', async () => {
    assert.equal(await h.app.store.cursors.get('processor'), 3);
    assert.equal((await h.app.store.audiences.members('known_email')).length, 2);
  });

  test('admin API: GET /api/admin/quarantine lists it with its error', async () => {
    const res = await admin('GET', '/api/admin/quarantine');
    assert.equal(res.statusCode, 200);
    const { items } = res.json<{ items: Record<string, unknown>[] }>();
    assert.equal(items.length, 1);
    const [item] = items;
    assert.deepEqual(Object.keys(item!).sort(), [
      'attempts',
      'error',
      'messageId',
      'offset',
      'quarantinedAt',
      'sourceId',
      'type',
    ]);
    assert.deepEqual(
      [item!.offset, item!.sourceId, item!.messageId, item!.type, item!.attempts],
      [2, 'web', 'broken', 'identify', 1],
    );
    const error = item!.error as { code: string; message: string };
    assert.equal(error.code, 'processing_failed');
    assert.match(error.message, /JSON/);
    assert.equal(typeof item!.quarantinedAt, 'number');
    assert.equal(
      (await admin('GET', '/api/admin/openapi.json')).json<{ paths: Record<string, unknown> }>().paths[
        '/api/admin/quarantine'
      ] !== undefined,
      true,
    );
  });

  test('metrics: the gauge counts what is quarantined now, the counter what this process quarantined', async () => {
    assert.equal(await metric('handoff_processor_quarantined_events'), 1);
    assert.equal(await metric('handoff_processor_quarantined_total'), 1);
  });

  test('audit: the quarantined_events check fails and says what to do', async () => {
    const audit = await cli('audit', '--format', 'json');
    assert.equal(audit.code, 1);
    const report = JSON.parse(audit.out) as { lines: { check: string; status: string; message: string }[] };
    const line = report.lines.find((l) => l.check === 'quarantined_events');
    assert.equal(line?.status, 'fail');
    assert.match(line?.message ?? '', /1 event\(s\) quarantined.*handoff events quarantine retry --all/);
  });

  test('CLI: list shows it; --json is the admin API body', async () => {
    const text = await cli('events', 'quarantine', 'list');
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /\| 2 \| web \| broken \| identify \| processing_failed: .*JSON.* \| 1 \|/);
    const json = await cli('events', 'quarantine', 'list', '--json');
    assert.deepEqual(JSON.parse(json.out), (await admin('GET', '/api/admin/quarantine')).json());
  });

  test('retry refuses bad requests, saying what is wrong', async () => {
    const empty = await admin('POST', '/api/admin/quarantine/retry', {});
    assert.equal(empty.statusCode, 400);
    assert.match(empty.body, /send either/);
    const unknown = await admin('POST', '/api/admin/quarantine/retry', { offsets: [1, 2] });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.body, /not quarantined: 1; quarantined: 2/);
    assert.equal((await cli('events', 'quarantine', 'retry')).code, 2);
    const both = await cli('events', 'quarantine', 'retry', '--all', '--offset', '2');
    assert.equal(both.code, 2);
    const word = await cli('events', 'quarantine', 'retry', '--offset', 'two');
    assert.equal(word.code, 2);
    assert.match(word.err, /--offset two: not an event offset/);
    assert.equal((await h.app.store.quarantine.list())[0]?.retryRequested, false, 'nothing was marked');
  });

  test('a retry that fails again keeps it, attempts + 1 (admin API, then processed by the processor)', async () => {
    const res = await admin('POST', '/api/admin/quarantine/retry', { offsets: [2] });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { marked: 1 });
    await h.app.processor.drain();
    const [row] = await h.app.store.quarantine.list();
    assert.equal(row?.attempts, 2);
    assert.equal(row?.retryRequested, false);
    assert.equal(await metric('handoff_processor_quarantined_total'), 1, 'not counted again');
  });

  test('repaired, a CLI retry processes it: it leaves the quarantine, moves its audience, and every surface clears', async () => {
    const raw = rawSql(h);
    await raw.exec(
      'UPDATE events SET body = ? WHERE seq = 2',
      '{"type":"identify","userId":"broken","traits":{"plan":"pro"}}',
    );
    await raw.close();
    const retry = await cli('events', 'quarantine', 'retry', '--all');
    assert.equal(retry.code, 0, retry.out + retry.err);
    assert.match(retry.out, /2: processed; it left the quarantine\n1 of 1 processed/);
    assert.deepEqual((await admin('GET', '/api/admin/quarantine')).json(), { items: [] });
    assert.equal((await h.app.store.audiences.members('known_email')).length, 3);
    assert.equal(await metric('handoff_processor_quarantined_events'), 0);
    const audit = await cli('audit', '--format', 'json');
    const report = JSON.parse(audit.out) as { lines: { check: string; status: string }[] };
    assert.equal(report.lines.find((l) => l.check === 'quarantined_events')?.status, 'pass');
    assert.equal((await cli('events', 'quarantine', 'list')).out, 'no quarantined events');
  });
});
