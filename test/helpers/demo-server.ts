import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { demoJourneys, sendJourneys } from '../../src/cli/demo-traffic.ts';
import type { SendTally } from '../../src/cli/demo-traffic.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { DEFAULT_RETRY_POLICY } from '../../src/sync/retry-policy.ts';
import type { FakeCordial } from '../fakes/cordial/index.ts';
import { startFakeCordial } from '../fakes/cordial/index.ts';
import type { Harness } from './harness.ts';
import { WRITE_KEYS, harness } from './harness.ts';

export const ADMIN_TOKEN = 'test-admin-token';

/** A listening Handoff with examples/demo.yaml's audiences, fed ten minutes of demo traffic. */
export interface DemoServer {
  h: Harness;
  fake: FakeCordial;
  clock: ManualClock;
  url: string;
  tally: SendTally;
  close(): Promise<void>;
}

const demoAudiences = (): unknown[] =>
  (
    parse(readFileSync(new URL('../../examples/demo.yaml', import.meta.url), 'utf8')) as {
      audiences: unknown[];
    }
  ).audiences;

/**
 * Starts the fake Cordial and a Handoff syncing to it, sends demo journeys stamped over the last
 * ten minutes through the Segment API, and settles. Along the way one Cordial request is
 * answered 429 and one 422, so the sync views have a rate limit and a dead letter to show.
 */
export async function demoServer(options: { profiles?: number; seed?: number } = {}): Promise<DemoServer> {
  const now = Date.now();
  const clock = new ManualClock(now - 10 * 60_000);
  const fake = await startFakeCordial({ now: () => clock.now() });
  const h = await harness({
    clock,
    extra: stringify({
      server: { adminToken: { env: 'ADMIN_TOKEN' } },
      destinations: { cordial: { baseUrl: fake.baseUrl, apiKey: { env: 'CORDIAL_KEY' }, rateLimit: 1000 } },
      audiences: demoAudiences(),
    }),
    env: { CORDIAL_KEY: fake.apiKey, ADMIN_TOKEN },
    sync: {
      sleep: (ms: number) => Promise.resolve(clock.advance(ms)),
      random: () => 0.5,
      retryPolicy: DEFAULT_RETRY_POLICY,
    },
  });
  const url = await h.listen();
  const steps = demoJourneys({
    profiles: options.profiles ?? 120,
    start: now - 10 * 60_000,
    spreadMs: 9 * 60_000,
    seed: options.seed ?? 7,
  }).filter((s) => s.at <= now);
  const tally: SendTally = { sent: 0, accepted: 0, rejected: 0, failedRequests: 0 };
  const add = (t: SendTally) => {
    tally.sent += t.sent;
    tally.accepted += t.accepted;
    tally.rejected += t.rejected;
    tally.failedRequests += t.failedRequests;
  };
  // Minute by minute, as if it had been live: time-based exits and sends happen in between.
  let sentUpTo = 0;
  for (let minute = 1; minute <= 10; minute++) {
    // Sends advance the clock through the rate limiter's waits; it never goes back.
    clock.set(Math.max(clock.now(), now - (10 - minute) * 60_000));
    const due = steps.filter((s, i) => i >= sentUpTo && s.at <= clock.now());
    sentUpTo += due.length;
    if (minute === 6) {
      fake.faults.set({
        failNext: [{ status: 429, headers: { 'retry-after': '1' } }, { status: 422 }],
      });
    }
    add(await sendJourneys({ url, writeKey: WRITE_KEYS.web }, due));
    await h.app.settle();
    if (minute === 6) {
      clock.advance(2_000);
      await h.app.settle();
    }
  }
  clock.set(Math.max(clock.now(), now));
  await h.app.settle();
  return {
    h,
    fake,
    clock,
    url,
    tally,
    async close() {
      await h.close();
      await fake.close();
    },
  };
}
