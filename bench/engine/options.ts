import { parseArgs } from 'node:util';
import { benchArgs, count } from '../lib.ts';
import type { StoreKind } from '../lib.ts';
import { STORE_OPTION, storeKind } from '../lib.ts';

interface Options {
  events: number;
  profiles: number;
  batches: number[];
  reads: number[];
  days: number;
  seed: string;
  profile: string | undefined;
  keep: boolean;
  store: StoreKind;
}

export function options(): Options {
  const { values } = parseArgs({
    args: benchArgs(),
    options: {
      events: { type: 'string', default: '1000000' },
      profiles: { type: 'string', default: '100000' },
      batch: { type: 'string', default: '20000,40000' },
      read: { type: 'string', default: '1000,2000,5000' },
      days: { type: 'string', default: '120' },
      seed: { type: 'string', default: '1' },
      profile: { type: 'string' },
      keep: { type: 'boolean', default: false },
      ...STORE_OPTION,
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:engine -- [--events 1000000] [--profiles 100000] [--batch 20000,40000] [--read 1000,2000,5000] [--days 120] [--seed 1] [--profile [out.cpuprofile]] [--keep] [--store sqlite|postgres]',
    );
    process.exit(0);
  }
  return {
    events: count('events', values.events),
    profiles: count('profiles', values.profiles),
    batches: values.batch.split(',').map((b) => count('batch', b)),
    reads: values.read.split(',').map((b) => count('read', b)),
    days: count('days', values.days),
    seed: values.seed,
    profile:
      values.profile === undefined
        ? undefined
        : values.profile || `engine-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
    keep: values.keep,
    store: storeKind(values.store),
  };
}

/** The example configuration, as `handoff serve` would load it (write keys from a made-up env). */
