import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Lease, LeaseStore, LeaseTimers } from './leases.ts';
import { LeaseKeeper, LeaseLostError } from './leases.ts';

/** Timers on virtual time: `advance` fires what falls due, in order, letting promises settle. */
class FakeTimers implements LeaseTimers {
  at = 0;
  private next = 1;
  private readonly due = new Map<number, { at: number; run: () => void }>();
  setTimeout(run: () => void, ms: number): unknown {
    const id = this.next++;
    this.due.set(id, { at: this.at + ms, run });
    return id;
  }
  clearTimeout(timer: unknown): void {
    this.due.delete(timer as number);
  }
  now(): number {
    return this.at;
  }
  async advance(ms: number): Promise<void> {
    const end = this.at + ms;
    for (;;) {
      await flush();
      const [id, first] = [...this.due].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || first === undefined || first.at > end) break;
      this.due.delete(id);
      this.at = first.at;
      first.run();
    }
    this.at = end;
    await flush();
  }
}
const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

/** A lease table on the fake timers' clock; `down` makes every call fail. */
function memoryLeases(timers: FakeTimers): LeaseStore & { down: boolean; rows: Map<string, Lease> } {
  const rows = new Map<string, Lease>();
  const store = {
    down: false,
    rows,
    acquire: (name: string, holder: string, ttlMs: number): Promise<{ epoch: number } | undefined> => {
      if (store.down) return Promise.reject(new Error('the database is unreachable'));
      const now = timers.now();
      const row = rows.get(name);
      const live = row !== undefined && row.expiresAt > now;
      if (live && row.holder !== holder) return Promise.resolve(undefined);
      const epoch = live ? row.epoch : (row?.epoch ?? 0) + 1;
      rows.set(name, { name, holder, epoch, expiresAt: now + ttlMs, expired: false });
      return Promise.resolve({ epoch });
    },
    release: (name: string, holder: string, epoch: number) => {
      const row = rows.get(name);
      if (row?.holder === holder && row.epoch === epoch) row.expiresAt = timers.now();
      return Promise.resolve();
    },
    list: () => Promise.resolve([...rows.values()]),
  };
  return store;
}

function job(): { name: string; runs: string[]; start(): void; stop(): Promise<void> } {
  const runs: string[] = [];
  return {
    name: 'processor',
    runs,
    start: () => void runs.push('start'),
    stop: () => Promise.resolve(void runs.push('stop')),
  };
}

const timing = { ttlMs: 5_000, retryMs: 1_000, marginMs: 1_000 };

function keeper(timers: FakeTimers, store: LeaseStore, holder: string) {
  const j = job();
  const k = new LeaseKeeper({ store, job: j, holder, timing, timers });
  return { k, j };
}

test('LeaseKeeper: acquires a free lease and starts the job; renews it every ttl/3 at the same epoch', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  const { k, j } = keeper(timers, store, 'a');
  k.start();
  await timers.advance(0);
  assert.deepEqual(j.runs, ['start']);
  assert.equal(k.holds(), true);
  assert.equal(k.currentEpoch, 1);
  await timers.advance(60_000);
  assert.deepEqual(j.runs, ['start']);
  assert.equal(store.rows.get('processor')?.expiresAt, 60_000 - (60_000 % 1666) + 5_000);
  assert.equal(k.currentEpoch, 1);
  await k.stop();
  assert.deepEqual(j.runs, ['start', 'stop']);
});

test('LeaseKeeper: a second holder waits; when the first stops cleanly it takes over within a retry, at the next epoch', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  const a = keeper(timers, store, 'a');
  const b = keeper(timers, store, 'b');
  a.k.start();
  await timers.advance(0);
  b.k.start();
  await timers.advance(10_000);
  assert.deepEqual(b.j.runs, []);
  assert.equal(b.k.holds(), false);
  await a.k.stop();
  await timers.advance(1_000);
  assert.deepEqual(b.j.runs, ['start']);
  assert.equal(b.k.currentEpoch, 2);
  await b.k.stop();
});

test('LeaseKeeper: a holder that dies is taken over once its lease expires, within ttl + retry', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  store.rows.set('processor', {
    name: 'processor',
    holder: 'dead',
    epoch: 3,
    expiresAt: 5_000,
    expired: false,
  });
  const b = keeper(timers, store, 'b');
  b.k.start();
  await timers.advance(4_999);
  assert.deepEqual(b.j.runs, []);
  await timers.advance(1_001);
  assert.deepEqual(b.j.runs, ['start']);
  assert.equal(b.k.currentEpoch, 4);
  await b.k.stop();
});

test('LeaseKeeper: a failed renew stops the job at once; it starts again when the lease is taken back', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  const { k, j } = keeper(timers, store, 'a');
  k.start();
  await timers.advance(0);
  store.down = true;
  await timers.advance(1_667);
  assert.deepEqual(j.runs, ['start', 'stop']);
  assert.equal(k.holds(), false);
  assert.throws(() => k.fence(), LeaseLostError);
  store.down = false;
  await timers.advance(1_000);
  assert.deepEqual(j.runs, ['start', 'stop', 'start']);
  await k.stop();
});

test('LeaseKeeper: another holder found at a renew (the lease lapsed meanwhile) stops the job', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  const { k, j } = keeper(timers, store, 'a');
  k.start();
  await timers.advance(0);
  store.rows.set('processor', { name: 'processor', holder: 'b', epoch: 2, expiresAt: 1e9, expired: false });
  await timers.advance(1_667);
  assert.deepEqual(j.runs, ['start', 'stop']);
  assert.equal(k.holds(), false);
  await k.stop();
  // A stopped keeper releases nothing it does not hold.
  assert.equal(store.rows.get('processor')?.holder, 'b');
});

test('LeaseKeeper: a renew that hangs past ttl - margin stops trusting the lease: fence throws and the job stops', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  const { k, j } = keeper(timers, store, 'a');
  k.start();
  await timers.advance(0);
  store.down = false;
  const hang = new Promise<undefined>(() => {});
  const acquire = store.acquire.bind(store);
  store.acquire = () => hang;
  await timers.advance(3_999);
  assert.doesNotThrow(() => k.fence());
  await timers.advance(1);
  assert.throws(() => k.fence(), /processor lease is no longer held/);
  assert.deepEqual(j.runs, ['start', 'stop']);
  store.acquire = acquire;
});

test('LeaseKeeper: a frozen process (its timers late) fences itself on waking, before the renew answers', async () => {
  const timers = new FakeTimers();
  const store = memoryLeases(timers);
  const { k, j } = keeper(timers, store, 'a');
  k.start();
  await timers.advance(0);
  // Frozen: the clock jumps without timers firing.
  timers.at += 20_000;
  assert.throws(() => k.fence(), LeaseLostError);
  store.rows.set('processor', { name: 'processor', holder: 'b', epoch: 2, expiresAt: 1e9, expired: false });
  await timers.advance(0);
  assert.deepEqual(j.runs, ['start', 'stop']);
  await k.stop();
});
