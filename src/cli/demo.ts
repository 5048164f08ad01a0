import { fillMissingSecrets } from '../app/secrets.ts';
import type { Config } from '../config/load.ts';
import { parseDuration } from '../shared/duration.ts';
import type { Clock } from '../shared/clock.ts';
import { systemClock } from '../shared/clock.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';
import type { DemoStep, SendOptions, SendTally } from './demo-traffic.ts';
import { demoJourneys, sendBatch } from './demo-traffic.ts';

export interface DemoOptions {
  config?: string;
  url?: string;
  writeKey?: string;
  rate?: string;
  profiles?: string;
  duration?: string;
  seed?: string;
}

export interface LiveOptions extends SendOptions {
  steps: readonly DemoStep[];
  /** Messages per second at most. */
  rate: number;
  clock?: Clock;
  sleep?: (ms: number) => Promise<void>;
  /** Called about every 10 s with the tally so far. */
  progress?: (tally: SendTally) => void;
}

const TICK_MS = 250;

/** Sends each step when its time comes, stamped with the moment it is sent, at most `rate` per second. */
export async function sendLive(options: LiveOptions): Promise<SendTally> {
  const clock = options.clock ?? systemClock;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const tally: SendTally = { sent: 0, accepted: 0, rejected: 0, failedRequests: 0 };
  const perTick = Math.max(1, Math.round((options.rate * TICK_MS) / 1000));
  let next = 0;
  let reported = clock.now();
  while (next < options.steps.length) {
    const now = clock.now();
    const due: Record<string, unknown>[] = [];
    while (next < options.steps.length && options.steps[next]!.at <= now && due.length < perTick) {
      due.push({ ...options.steps[next++]!.message, timestamp: new Date(now).toISOString() });
    }
    if (due.length > 0) {
      await sendBatch(options, due, tally);
      // A wrong write key or URL fails every request alike: say so once rather than for minutes.
      if (tally.accepted === 0 && tally.failedRequests > 0) return tally;
    }
    if (now - reported >= 10_000) {
      options.progress?.(tally);
      reported = now;
    }
    await sleep(TICK_MS);
  }
  return tally;
}

function positiveInt(name: string, value: string | undefined, fallback: number, io: Io): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (Number.isInteger(n) && n > 0) return n;
  io.err(`--${name} must be a positive whole number, got ${value}`);
  return undefined;
}

/** The first Segment source's write key as serve uses it: from the environment, or the value serve generated and kept. */
function configuredWriteKey(loaded: Config): string | undefined {
  const source = fillMissingSecrets(loaded).config.sources.find((s) => s.kind === 'segment');
  return source?.kind === 'segment' ? source.writeKey.value : undefined;
}

/**
 * `handoff demo`: shoppers browse, add to cart, check out and buy against a running server, in
 * real time, so the demo config's short windows fill and drain audiences within minutes.
 */
export async function demo(options: DemoOptions, io: Io): Promise<number> {
  const loaded = loadConfigOrReport(options.config, io);
  if (!loaded) return 2;
  const rate = positiveInt('rate', options.rate, 20, io);
  const profiles = positiveInt('profiles', options.profiles, 200, io);
  const seed = positiveInt('seed', options.seed, Math.floor(Math.random() * 1e9), io);
  const duration = parseDuration(options.duration ?? '5m');
  if (!duration.ok) io.err(`--duration ${options.duration}: ${duration.error.message}`);
  if (rate === undefined || profiles === undefined || seed === undefined || !duration.ok) return 2;
  const writeKey = options.writeKey ?? configuredWriteKey(loaded);
  if (writeKey === undefined) {
    io.err('no Segment source in the config: pass --write-key');
    return 2;
  }
  const host = loaded.server.host === '0.0.0.0' ? '127.0.0.1' : loaded.server.host;
  const url = options.url ?? `http://${host}:${loaded.server.port}`;
  const reachable = await fetch(`${url}/healthz`).then(
    (res) => res.ok,
    () => false,
  );
  if (!reachable) {
    io.err(`no Handoff answers at ${url}: start it with \`handoff serve\` (same --config), or pass --url`);
    return 1;
  }
  const start = Date.now();
  const steps = demoJourneys({ profiles, start, spreadMs: duration.value * 0.5, seed }).filter(
    (s) => s.at <= start + duration.value,
  );
  io.out(
    `sending ${steps.length} events from ${profiles} shoppers to ${url} over ${options.duration ?? '5m'} (at most ${rate}/s); open ${url}/ to watch`,
  );
  const tally = await sendLive({
    url,
    writeKey,
    steps,
    rate,
    progress: (t) => io.out(`${t.sent} sent, ${t.accepted} accepted, ${t.rejected} rejected`),
  });
  io.out(`done: ${tally.sent} sent, ${tally.accepted} accepted, ${tally.rejected} rejected`);
  if (tally.failedRequests > 0) {
    io.err(`${tally.failedRequests} request(s) failed; the last: ${tally.lastError ?? 'unknown'}`);
    return 1;
  }
  return 0;
}
