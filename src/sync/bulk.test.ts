// The bulk sender against a scripted destination and a real SQLite ledger: what it does with each
// answer a job can get (refused, failed, missed rows, stuck in a queue).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../shared/bus.ts';
import { ManualClock } from '../shared/clock.ts';
import type { HandoffEvents } from '../engine/events.ts';
import { createSqliteStore } from '../store/sqlite/index.ts';
import type { Store } from '../store/ports.ts';
import { BulkSender, DEFAULT_BULK_SETTINGS } from './bulk.ts';
import type { BulkDestination, RemoteJob, SendResult } from './destination.ts';
import { DEFAULT_RETRY_POLICY } from './retry-policy.ts';

const T0 = Date.UTC(2026, 0, 1);
const ok: SendResult = {
  outcome: { kind: 'ok' },
  record: { request: 'r', status: 200, message: 'ok' },
  rate: {},
};
const refused: SendResult = {
  outcome: { kind: 'permanent', status: 406, reason: 'The columns field is required.' },
  record: { request: 'r', status: 406, message: 'The columns field is required.' },
  rate: {},
};

/** A destination whose jobs report what the test says. */
class Scripted implements BulkDestination {
  readonly name = 'cordial';
  imports: Record<string, unknown>[] = [];
  start: SendResult = ok;
  report: (id: string) => RemoteJob = () => ({
    status: 'Processing',
    totalItems: 0,
    completedItems: 0,
    result: undefined,
  });
  startImport(request: Record<string, unknown> & { list: string; add: boolean }) {
    this.imports.push(request);
    return Promise.resolve(
      this.start.outcome.kind === 'ok'
        ? { result: ok, jobId: `j${this.imports.length}` }
        : { result: this.start },
    );
  }
  jobStatus(id: string) {
    return Promise.resolve({ result: ok, job: this.report(id) });
  }
}

async function world(n: number, settings = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bulk-'));
  const store: Store = createSqliteStore(join(dir, 'h.db'));
  const clock = new ManualClock(T0);
  const bus = new EventBus<HandoffEvents>();
  const events: HandoffEvents['sync.bulk'][] = [];
  bus.on('sync.bulk', (e) => events.push(e));
  const destination = new Scripted();
  let token = 0;
  const sender = new BulkSender({
    store,
    destination,
    files: {
      publish: () => Promise.resolve({ transport: 'HTTPS', url: 'u' }),
      remove: () => Promise.resolve(),
    },
    settings: { ...DEFAULT_BULK_SETTINGS, threshold: 10, splitBelow: 4, ...settings },
    clock,
    policy: DEFAULT_RETRY_POLICY,
    bus,
    pause: () => undefined,
    newToken: () => `token-${String(++token).padStart(24, '0')}`,
    prepareLists: () => Promise.resolve(undefined),
    random: () => 0.5,
  });
  const desired = Array.from({ length: n }, (_, i) => ({
    contact: `email:m${String(i).padStart(3, '0')}@x.com`,
    list: 'vip',
    audience: 'vip',
    profileId: `p${i}`,
    email: `m${i}@x.com`,
    desired: true,
    changeSeq: i + 1,
    cause: 'test',
    version: 'v1',
    changedAt: T0,
    priority: 0,
    dueAt: T0,
  }));
  await store.sync.record('cordial', { name: 'sync:cordial', from: 0, to: 1 }, desired, []);
  const close = async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { store, clock, destination, sender, events, close };
}

const done = (total: number, r: Partial<NonNullable<RemoteJob['result']>> = {}): RemoteJob => ({
  status: 'Done',
  totalItems: total,
  completedItems: total,
  result: { totalRecords: total, updated: total, inserted: 0, rejected: 0, error: 0, ignored: 0, ...r },
});

describe('bulk sender', () => {
  test('below the threshold nothing is planned; at it, one job; Done acknowledges every row', async () => {
    const w = await world(10);
    try {
      assert.equal(await w.sender.plan(), 1);
      await w.sender.step();
      assert.equal(w.destination.imports.length, 1);
      assert.deepEqual(w.destination.imports[0], {
        list: 'vip',
        add: true,
        source: { transport: 'HTTPS', url: 'u' },
        importName: 'handoff-job-1',
        identifier: 'email',
      });
      w.destination.report = () => done(10);
      w.clock.advance(DEFAULT_BULK_SETTINGS.pollIntervalMs);
      await w.sender.step();
      const items = await w.store.sync.items('cordial');
      assert.ok(items.every((i) => i.sent === true && i.state === 'done'));
      assert.deepEqual(
        w.events.map((e) => e.what),
        ['submitted', 'done'],
      );
    } finally {
      await w.close();
    }
  });

  test('an import Cordial refuses sends its rows one contact at a time', async () => {
    const w = await world(12);
    try {
      w.destination.start = refused;
      await w.sender.plan();
      await w.sender.step();
      assert.equal((await w.store.bulk.active('cordial')).length, 0);
      assert.deepEqual(
        await w.store.bulk.candidates('cordial', T0 + 3_600_000, 1),
        [],
        'never in a job again',
      );
      assert.equal((await w.store.sync.due('cordial', T0 + 3_600_000, 100)).length, 12);
      assert.match(w.events.at(-1)!.message, /columns field is required/);
    } finally {
      await w.close();
    }
  });

  test('missed rows split the job into parts of about half a missed row each, small parts one by one', async () => {
    const w = await world(40);
    try {
      await w.sender.plan();
      await w.sender.step();
      w.destination.report = () => done(40, { updated: 38, ignored: 2 });
      w.clock.advance(DEFAULT_BULK_SETTINGS.pollIntervalMs);
      await w.sender.step();
      // 40 rows, 2 missed: parts of 10.
      const planned = await w.store.bulk.active('cordial');
      assert.deepEqual(
        planned.map((j) => j.rows),
        [10, 10, 10, 10],
      );
      assert.equal(w.events.at(-1)!.what, 'split');
    } finally {
      await w.close();
    }
  });

  test('a failed job is tried once more as a job, then row by row', async () => {
    const w = await world(10);
    try {
      w.destination.report = () => ({
        status: 'Failed',
        totalItems: 10,
        completedItems: 0,
        result: undefined,
      });
      for (let round = 0; round < 2; round++) {
        assert.equal(await w.sender.plan(), 1, `round ${round}`);
        await w.sender.step();
        w.clock.advance(DEFAULT_BULK_SETTINGS.pollIntervalMs);
        await w.sender.step();
        w.clock.advance(3_600_000);
      }
      assert.equal(await w.sender.plan(), 0);
      assert.equal((await w.store.sync.due('cordial', w.clock.now(), 100)).length, 10);
    } finally {
      await w.close();
    }
  });

  test('a job stuck Throttled past stallAfter is reported once, and still polled', async () => {
    const w = await world(10, { stallAfterMs: 60_000 });
    try {
      await w.sender.plan();
      await w.sender.step();
      w.destination.report = () => ({
        status: 'Throttled',
        totalItems: 10,
        completedItems: 0,
        result: undefined,
      });
      for (let i = 0; i < 30; i++) {
        w.clock.advance(DEFAULT_BULK_SETTINGS.pollIntervalMs);
        await w.sender.step();
      }
      assert.deepEqual(
        w.events.map((e) => e.what),
        ['submitted', 'stalled'],
      );
      const [job] = await w.store.bulk.active('cordial');
      assert.equal(job?.state, 'running');
      assert.match(job?.message ?? '', /^stalled: Throttled since/);
    } finally {
      await w.close();
    }
  });
});
