// A seeded fuzz of every public route of a real `handoff serve`: valid messages mixed with hostile
// shapes. Nothing a client sends may produce a 5xx, stop the process or the pipeline, or lose an
// acknowledged message. The seed is printed; HANDOFF_FUZZ_SEED=<seed> replays a run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Served } from '../helpers/serve-process.ts';
import { metric, startServe, stopAll, stopServe, waitFor } from '../helpers/serve-process.ts';
import { fuzzRequests } from './fuzz/generate.ts';
import { messageKey, userKey } from './fuzz/request.ts';
import type { RunTotals } from './fuzz/send.ts';
import { describeOutcome, sendAll } from './fuzz/send.ts';
import { rawSql } from '../helpers/store.ts';
import type { Setup } from './setup.ts';
import { SECRETS, setUp } from './setup.ts';

const SEED = process.env.HANDOFF_FUZZ_SEED
  ? Number(process.env.HANDOFF_FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 31);
const REQUESTS = Number(process.env.HANDOFF_FUZZ_REQUESTS ?? 10_000);

let setup: Setup;
let served: Served;
let totals: RunTotals | undefined;

before(async () => {
  assert.ok(Number.isInteger(SEED) && SEED >= 0, `HANDOFF_FUZZ_SEED must be a non-negative integer`);
  setup = await setUp('fuzz');
  served = await startServe(setup.configFile, setup.env);
});
after(async () => {
  await stopAll();
  await setup?.close();
});

const log = (line: string) => process.stdout.write(`${line}\n`);

/** The serve's distinct errors and warnings (the last few kinds, with counts), to show why something failed. */
function errors(served: Served, last = 6): string {
  const kinds = new Map<string, number>();
  for (const line of served.output().split('\n')) {
    if (!/"level":(40|50|60)/.test(line)) continue;
    let kind = line.slice(0, 300);
    try {
      const entry = JSON.parse(line) as { msg?: string; err?: { message?: string; stack?: string } };
      const where = /\n\s+at (.*)/.exec(entry.err?.stack ?? '')?.[1] ?? '';
      kind = `${entry.msg ?? ''}: ${(entry.err?.message ?? '').split('\n')[0]!.slice(0, 200)} ${where}`;
    } catch {
      // not a JSON line: kept as text
    }
    const seen = kinds.get(kind) ?? 0;
    kinds.delete(kind);
    kinds.set(kind, seen + 1);
  }
  return [...kinds]
    .slice(-last)
    .map(([kind, n]) => `${n}× ${kind}`)
    .join('\n');
}

describe(`fuzz (HANDOFF_FUZZ_SEED=${SEED}, ${REQUESTS} requests)`, () => {
  test('no response ≥ 500 and every request answered', async () => {
    const started = Date.now();
    totals = await sendAll(served.address, fuzzRequests(SEED, REQUESTS), {
      concurrency: 6,
      timeoutMs: 60_000,
    });
    log(`seed ${SEED}: ${totals.requests} requests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    log(
      `by status: ${[...totals.byStatus]
        .sort()
        .map(([s, n]) => `${s}×${n}`)
        .join(', ')}`,
    );
    log(`messages in tracked requests: ${totals.trackedMessages}; acknowledged: ${totals.acknowledged.size}`);
    for (const o of totals.slowest) log(`slow: ${o.ms} ms ${describeOutcome(o).slice(0, 200)}`);
    for (const o of totals.serverErrors) log(`≥ 500: ${describeOutcome(o)}`);
    for (const o of totals.unanswered) log(`no response: ${describeOutcome(o)}`);
    for (const o of totals.closedEarly)
      log(`over 500 KB, closed by serve while sent: ${describeOutcome(o).slice(0, 200)}`);
    assert.equal(totals.requests, REQUESTS);
    assert.equal(
      totals.serverErrors.length,
      0,
      `${totals.serverErrors.length} responses ≥ 500 (seed ${SEED}); each is printed above; serve's last errors:\n${errors(served)}`,
    );
    assert.equal(
      totals.unanswered.length,
      0,
      `${totals.unanswered.length} requests got no response (seed ${SEED})`,
    );
  });

  test('serve is still running and /healthz answers', async () => {
    assert.ok(served.alive(), `serve exited during the fuzz:\n${served.output().slice(-4000)}`);
    const res = await fetch(`${served.address}/healthz`);
    assert.equal(res.status, 200);
  });

  test('every valid request is acknowledged', () => {
    assert.ok(totals, 'the fuzz run did not complete');
    for (const o of totals.validRefused) log(`valid but refused: ${describeOutcome(o)}`);
    assert.equal(
      totals.validRefused.length,
      0,
      `${totals.validRefused.length} valid requests refused (seed ${SEED})`,
    );
  });

  test('processing catches up with the log (lag 0)', async () => {
    const caughtUp = await waitFor(
      async () => (await metric(served.address, SECRETS.adminToken, 'handoff_processor_lag_events')) === 0,
      60_000,
      250,
    );
    const lag = await metric(served.address, SECRETS.adminToken, 'handoff_processor_lag_events').catch(
      () => undefined,
    );
    assert.ok(
      caughtUp,
      `processor lag is still ${lag} events 60 s after the fuzz (seed ${SEED}); serve's last errors:\n${errors(served)}`,
    );
  });

  test('every acknowledged message is in the event log exactly once', async () => {
    assert.ok(totals, 'the fuzz run did not complete');
    const stopped = await stopServe(served, 30_000);
    assert.ok(!stopped.timedOut, 'serve did not stop within 30 s of SIGTERM');
    const db = rawSql(setup.storage);
    const counts = new Map<string, number>();
    try {
      const rows = await db.query<{
        source_id: string;
        message_id: string;
        user_id: string | null;
        type: string;
        name: string | null;
      }>('SELECT source_id, message_id, user_id, type, name FROM events');
      for (const row of rows) {
        const keys = [messageKey(row.source_id, row.message_id)];
        if (row.user_id !== null) keys.push(userKey(row.source_id, row.user_id, row.type, row.name));
        for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      log(`event log: ${rows.length} rows`);
    } finally {
      await db.close();
    }
    const missing: string[] = [];
    const repeated: string[] = [];
    for (const key of totals.acknowledged.keys()) {
      const stored = counts.get(key) ?? 0;
      if (stored === 0) missing.push(key);
      else if (stored > 1) repeated.push(`${key} ×${stored}`);
    }
    const show = (key: string) => key.replaceAll('\u0001', ' ');
    for (const key of missing) log(`acknowledged, not stored: ${show(key)}`);
    for (const key of repeated) log(`acknowledged, stored more than once: ${show(key)}`);
    log(`acknowledged messages checked: ${totals.acknowledged.size}`);
    assert.deepEqual(
      { missing: missing.length, repeated: repeated.length },
      { missing: 0, repeated: 0 },
      `acknowledged messages not stored exactly once (seed ${SEED})`,
    );
  });
});
