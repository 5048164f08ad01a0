/**
 * `npm run bench:simulate [-- --events 64852 --profiles 2600 --days 1 --seed 1 --check-all --profile [out.cpuprofile]]`
 *
 * How fast `handoff simulate --events` runs a day's export, against the engine's replay of the
 * same events, in one run:
 *
 * 1. Generates N D2C events for P shoppers over `--days` (bench/generate.ts) into a temp JSONL
 *    file. Not timed.
 * 2. simulate: `handoff simulate --events <file>` in-process (simulateCommand, as the CLI action
 *    calls it) against examples/handoff.yaml, every printed line collected. Timed end to end:
 *    reading and parsing the file, ingest, the engine, every wake-up, and the settling wake-ups
 *    after the last event (the command's default, up to 400 days on).
 * 3. Baseline: the same events ingested into a fresh in-memory store (not timed), then one
 *    `processor.drain()` with the clock a minute after the last event, timed: the engine's replay
 *    as bench/engine.ts measures it, without the wake-ups simulate also fires.
 * 4. Output check: a fixed sample (seed 1, 5,000 events, 200 shoppers, one day) through simulate,
 *    batched and one message at a time (`oneAtATime`, the path simulate had before batching); the
 *    SHA-256 of what each prints (stdout, then stderr) must equal GOLDEN, recorded from the
 *    one-at-a-time simulation before batching. A change that alters a single printed byte fails.
 *    The same check runs on the N events of step 2 against the one-at-a-time path with
 *    `--check-all` (it doubles the run).
 *
 * `--profile` CPU-profiles the timed simulate run of step 2 (its figures are then slower) and
 * prints where its samples fall, by area and by function's self time; with a file name, the
 * profile is also written there for DevTools.
 *
 * Exit status 1 when the sample's output differs from GOLDEN (not for missing the target).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app/app.ts';
import type { Io } from '../src/cli/config-path.ts';
import { simulateCommand } from '../src/cli/simulate.ts';
import { loadConfigFile } from '../src/config/load.ts';
import { simulatedProfileIds } from '../src/app/simulation/simulation.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { createSqliteStore } from '../src/store/sqlite/index.ts';
import { STORE_OPTION, benchArgs, count, fmt, startProfiler, storeKind, summarizeProfile } from './lib.ts';
import type { GeneratedMessage } from './generate/index.ts';
import { generateEvents } from './generate/index.ts';

const TARGET_EVENTS_PER_SEC = 25_000;
const DAY = 86_400_000;
const START = '2026-11-01T00:00:00Z';
const CONFIG = fileURLToPath(new URL('../examples/handoff.yaml', import.meta.url));
/** What the sample prints, from the one-message-at-a-time simulation: 1,336 lines. */
const GOLDEN = {
  lines: 1336,
  sha256: '79b4a75a619cec514fe99bd4835b1e891df2d6f89c86dee1dbf654473b2b31f5',
};
const SAMPLE = { events: 5_000, profiles: 200, seed: 1, spanMs: DAY, start: START };

/** CPU seconds this process used since `from` (user + system), less sensitive to a busy machine than wall time. */
const cpuSince = (from: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1e6;
};

interface Run {
  seconds: number;
  cpu: number;
  code: number;
  lines: number;
  sha256: string;
}

function generate(options: Parameters<typeof generateEvents>[0]): GeneratedMessage[] {
  return [...generateEvents(options)];
}

function writeJsonl(dir: string, name: string, messages: readonly GeneratedMessage[]): string {
  const path = join(dir, name);
  writeFileSync(path, messages.map((m) => JSON.stringify(m)).join('\n') + '\n');
  return path;
}

/** `handoff simulate --events <file>` in-process; what it printed, hashed. */
async function simulateFile(file: string, oneAtATime = false): Promise<Run> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: Io = { out: (l) => stdout.push(l), err: (l) => stderr.push(l), env: {}, isTTY: false };
  const started = performance.now();
  const cpu = process.cpuUsage();
  const code = await simulateCommand({ config: CONFIG, events: file, oneAtATime }, io);
  const seconds = (performance.now() - started) / 1000;
  const sha256 = createHash('sha256')
    .update(stdout.join('\n'))
    .update('\n--stderr--\n')
    .update(stderr.join('\n'))
    .digest('hex');
  return { seconds, cpu: cpuSince(cpu), code, lines: stdout.length, sha256 };
}

/** The engine's replay of the same events: ingested first (not timed), then one drain, timed. */
async function replay(
  messages: readonly GeneratedMessage[],
): Promise<{ seconds: number; cpu: number; events: number }> {
  const loaded = loadConfigFile(CONFIG, {});
  if (!loaded.ok) throw new Error(loaded.error.message);
  const last = Math.max(...messages.map((m) => Date.parse(m.timestamp)));
  const app = createApp({
    config: loaded.value,
    store: createSqliteStore(':memory:'),
    clock: new ManualClock(last + 60_000),
    newProfileId: simulatedProfileIds(),
  });
  try {
    const source = loaded.value.sources[0]?.id ?? 'simulate';
    for (let i = 0; i < messages.length; i += 1_000)
      await app.ingest.ingest(source, messages.slice(i, i + 1_000));
    const started = performance.now();
    const cpu = process.cpuUsage();
    const events = await app.processor.drain();
    return { seconds: (performance.now() - started) / 1000, cpu: cpuSince(cpu), events };
  } finally {
    await app.stop();
  }
}

interface Options {
  events: number;
  profiles: number;
  days: number;
  seed: string;
  checkAll: boolean;
  /** Where to write the CPU profile ('' to only print its summary); undefined: no profile. */
  profile: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    args: benchArgs(),
    options: {
      events: { type: 'string', default: '64852' },
      profiles: { type: 'string', default: '2600' },
      days: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
      'check-all': { type: 'boolean', default: false },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      ...STORE_OPTION,
    },
  });
  // `handoff simulate` runs on an in-memory SQLite store of its own, whatever the config says.
  if (storeKind(values.store) === 'postgres')
    throw new Error(
      'bench:simulate measures `handoff simulate`, which always runs on its own in-memory SQLite store: --store postgres does not apply',
    );
  if (values.help) {
    console.log(
      'usage: npm run bench:simulate -- [--events 64852] [--profiles 2600] [--days 1] [--seed 1] [--check-all] [--profile [out.cpuprofile]]',
    );
    process.exit(0);
  }
  return {
    events: count('events', values.events),
    profiles: count('profiles', values.profiles),
    days: count('days', values.days),
    seed: values.seed,
    checkAll: values['check-all'],
    profile: values.profile,
  };
}

async function main(): Promise<number> {
  const opts = options();
  const dir = mkdtempSync(join(tmpdir(), 'handoff-bench-simulate-'));
  try {
    const sampleFile = writeJsonl(dir, 'sample.jsonl', generate(SAMPLE));
    let same = true;
    for (const oneAtATime of [false, true]) {
      const sample = await simulateFile(sampleFile, oneAtATime);
      const equal = sample.sha256 === GOLDEN.sha256 && sample.lines === GOLDEN.lines;
      same &&= equal;
      console.log(
        `output check, 5,000-event sample, ${oneAtATime ? 'one at a time' : 'batched'}: ${fmt(sample.lines)} lines, sha256 ${sample.sha256} ${equal ? 'identical to' : 'DIFFERS FROM'} the recorded one-at-a-time output (${fmt(GOLDEN.lines)} lines, ${GOLDEN.sha256.slice(0, 16)}…)`,
      );
    }

    const messages = generate({
      events: opts.events,
      profiles: opts.profiles,
      seed: opts.seed,
      spanMs: opts.days * DAY,
      start: START,
    });
    const file = writeJsonl(dir, 'events.jsonl', messages);
    const profiler = opts.profile === undefined ? undefined : await startProfiler();
    const sim = await simulateFile(file);
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      summarizeProfile(profile, 'simulate (timed run)', 30);
      if (opts.profile) writeFileSync(opts.profile, JSON.stringify(profile));
    }
    if (opts.checkAll) {
      const reference = await simulateFile(file, true);
      const equal = reference.sha256 === sim.sha256;
      same &&= equal;
      console.log(
        `output check, all ${fmt(messages.length)} events: batched ${equal ? 'identical to' : 'DIFFERS FROM'} one at a time (${fmt(reference.lines)} lines, ${fmt(reference.seconds, 1)} s, ${fmt(reference.cpu, 1)} CPU s one at a time: ${fmt(messages.length / reference.cpu)} events per CPU second)`,
      );
    }
    const engine = await replay(messages);
    const simRate = messages.length / sim.seconds;
    const engineRate = engine.events / engine.seconds;
    console.log('| run | events | seconds | events/s | CPU seconds | events per CPU second |');
    console.log('|---|---|---|---|---|---|');
    console.log(
      `| handoff simulate --events (exit ${sim.code}, ${fmt(sim.lines)} changes) | ${fmt(messages.length)} | ${fmt(sim.seconds, 1)} | ${fmt(simRate)} | ${fmt(sim.cpu, 1)} | ${fmt(messages.length / sim.cpu)} |`,
    );
    console.log(
      `| engine replay, one drain (baseline) | ${fmt(engine.events)} | ${fmt(engine.seconds, 1)} | ${fmt(engineRate)} | ${fmt(engine.cpu, 1)} | ${fmt(engine.events / engine.cpu)} |`,
    );
    console.log(
      `simulate runs at ${fmt(simRate / engineRate, 2)}× the engine's replay; target ${fmt(TARGET_EVENTS_PER_SEC)} events/s: ${simRate >= TARGET_EVENTS_PER_SEC ? 'met' : 'not met'}`,
    );
    console.log(
      JSON.stringify({
        events: messages.length,
        simulateEventsPerSec: Math.round(simRate),
        replayEventsPerSec: Math.round(engineRate),
        sampleIdentical: same,
      }),
    );
    return same ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
