// ---------------------------------------------------------------------------------------------
import { parseArgs } from 'node:util';
import { benchArgs, count } from '../lib.ts';
import type { StoreKind } from '../lib.ts';
import { STORE_OPTION, storeKind } from '../lib.ts';

interface Options {
  events: number;
  clients: number;
  batch: number;
  seed: string;
  profiles: number | undefined;
  sameThread: boolean;
  profile: string | undefined;
  /** Ingest parse workers; 0 parses every body on the server's main thread; undefined: the server's default. */
  parseWorkers: number | undefined;
  store: StoreKind;
  /** `--processes 1,2,3`: serve processes to ingest through, each count in turn (PostgreSQL only). */
  processes: number[] | undefined;
}

export function options(): Options {
  const { values } = parseArgs({
    args: benchArgs(),
    options: {
      events: { type: 'string', default: '1000000' },
      clients: { type: 'string', default: '4' },
      batch: { type: 'string', default: '500' },
      seed: { type: 'string', default: '1' },
      profiles: { type: 'string' },
      'same-thread': { type: 'boolean', default: false },
      'parse-workers': { type: 'string' },
      profile: { type: 'string' },
      ...STORE_OPTION,
      processes: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(
      'usage: npm run bench:ingest -- [--events 1000000] [--clients 4] [--batch 500] [--seed 1] [--profiles N] [--same-thread] [--parse-workers N] [--profile [out.cpuprofile]] [--store sqlite|postgres] [--processes 1,2,3 (with --store postgres)]',
    );
    process.exit(0);
  }
  const processes = values.processes?.split(',').map((p) => count('processes', p.trim()));
  if (processes && values.store !== 'postgres') {
    console.error(
      '--processes needs --store postgres: several serve processes share one PostgreSQL database',
    );
    process.exit(2);
  }
  return {
    processes,
    events: count('events', values.events),
    clients: count('clients', values.clients),
    batch: count('batch', values.batch),
    seed: values.seed,
    profiles: values.profiles === undefined ? undefined : count('profiles', values.profiles),
    sameThread: values['same-thread'],
    parseWorkers:
      values['parse-workers'] === undefined
        ? undefined
        : values['parse-workers'] === '0'
          ? 0
          : count('parse-workers', values['parse-workers']),
    store: storeKind(values.store),
    profile:
      values.profile === undefined
        ? undefined
        : values.profile || `ingest-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`,
  };
}

/** Fails loudly if the store's INSERT has drifted from the copy the baseline uses. */
