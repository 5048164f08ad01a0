// ---------------------------------------------------------------------------------------------
import { parseArgs } from 'node:util';
import { benchArgs, count } from '../lib.ts';
import type { StoreKind } from '../lib.ts';
import { STORE_OPTION, storeKind } from '../lib.ts';

export interface Options {
  rate: number;
  seconds: number;
  /** Part A's warm-up at the same rate before the measured seconds (s). */
  warmup: number;
  wakeups: number;
  /** How many of the wake-ups fall due in the window (default: all). */
  due: number;
  window: number;
  perRequest: number;
  maxInFlight: number;
  ingestOnly: boolean;
  only: 'a' | 'b' | undefined;
  /** Part A's store; part B runs on SQLite only. */
  store: StoreKind;
  profile: string | undefined;
  /** Serve processes on one PostgreSQL schema for part A (1: the server runs in this process). */
  processes: number;
  /** Part A's background jobs in a serve process of their own (`--roles jobs`), the `processes` only ingesting. */
  jobsProcess: boolean;
}

export function options(): Options {
  const { values } = parseArgs({
    args: benchArgs(),
    options: {
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      wakeups: { type: 'string', default: '1000000' },
      due: { type: 'string' },
      window: { type: 'string', default: '45' },
      'per-request': { type: 'string', default: '1' },
      'max-in-flight': { type: 'string', default: '64' },
      'ingest-only': { type: 'boolean', default: false },
      only: { type: 'string' },
      ...STORE_OPTION,
      profile: { type: 'string' },
      processes: { type: 'string', default: '1' },
      'jobs-process': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:latency -- [--rate 1000] [--seconds 20] [--warmup 5] [--per-request 1] [--max-in-flight 64] [--ingest-only] [--wakeups 1000000] [--due N] [--window 45] [--only a|b] [--profile [out.cpuprofile]] [--store sqlite|postgres] [--processes N] [--jobs-process] (both with --store postgres)',
    );
    process.exit(0);
  }
  if (values.only !== undefined && values.only !== 'a' && values.only !== 'b')
    throw new Error('--only is a or b');
  const store = storeKind(values.store);
  const processes = count('processes', values.processes);
  if (processes > 1 && store !== 'postgres')
    throw new Error(
      '--processes needs --store postgres: several serve processes share one PostgreSQL schema',
    );
  const jobsProcess = values['jobs-process'];
  if (jobsProcess && store !== 'postgres')
    throw new Error('--jobs-process needs --store postgres: the processes share one PostgreSQL schema');
  if ((processes > 1 || jobsProcess) && (values['ingest-only'] || values.profile !== undefined))
    throw new Error('--processes and --jobs-process do not combine with --ingest-only or --profile');
  return {
    store,
    processes,
    jobsProcess,
    rate: count('rate', values.rate),
    seconds: count('seconds', values.seconds),
    warmup: wholeSeconds('warmup', values.warmup),
    wakeups: count('wakeups', values.wakeups),
    due: values.due === undefined ? count('wakeups', values.wakeups) : count('due', values.due),
    window: count('window', values.window),
    perRequest: count('per-request', values['per-request']),
    maxInFlight: count('max-in-flight', values['max-in-flight']),
    ingestOnly: values['ingest-only'],
    only: values.only,
    profile:
      values.profile === undefined
        ? undefined
        : values.profile || `latency-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
  };
}

/** A whole number of seconds, 0 or more. */
function wholeSeconds(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number of seconds (got ${text})`);
  return n;
}
