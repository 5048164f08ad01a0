import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { LeasedJob, LeaseStore, LeaseTiming } from '../shared/leases.ts';
import { LeaseKeeper, LeaseLostError } from '../shared/leases.ts';
import type { Logger } from '../shared/logger.ts';

/** The background jobs, each run by the one process that holds its lease. */
export const JOB_NAMES = ['processor', 'sync:cordial', 'customerio-segments', 'monitor'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** This process's name in the lease table: host, process id and a random tail (a reused pid is not the same holder). */
export const newHolder = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

/** The background jobs under their leases. */
export interface LeasedJobs {
  /** This process's holder name. */
  holder: string;
  /** Starts taking leases (and so running jobs). */
  start(): void;
  /** Stops every job and releases its lease. */
  stop(): Promise<void>;
  /** Resolves once each lease has been tried once (a single process then holds them all). */
  ready(): Promise<void>;
  /** Whether this process may act for the job now; true while leases are not in use (tests, commands). */
  holds(name: JobName): boolean;
  /** Throws LeaseLostError unless `holds(name)`: called before each external side effect of the job. */
  fence(name: JobName): void;
  /** Whether this process holds each lease now, for `handoff_lease_held`. */
  held(): { name: JobName; held: boolean }[];
}

export interface LeasedJobsOptions {
  store: LeaseStore;
  jobs: Record<JobName, Omit<LeasedJob, 'name'> | undefined>;
  holder?: string;
  timing?: LeaseTiming;
  logger: Logger;
}

/** Wires each configured job to a lease keeper; a job that is not configured takes no lease. */
export function leasedJobs(options: LeasedJobsOptions): LeasedJobs {
  const holder = options.holder ?? newHolder();
  const { logger } = options;
  let started = false;
  let first: Promise<void> = Promise.resolve();
  const keepers = new Map<JobName, LeaseKeeper>();
  for (const name of JOB_NAMES) {
    const job = options.jobs[name];
    if (job === undefined) continue;
    keepers.set(
      name,
      new LeaseKeeper({
        store: options.store,
        holder,
        job: { name, start: () => job.start(), stop: () => job.stop() },
        ...(options.timing ? { timing: options.timing } : {}),
        onError: (error) =>
          logger.warn({ err: error, lease: name }, `the ${name} lease could not be renewed`),
        onChange: (held, epoch) => {
          if (held) logger.info({ lease: name, epoch, holder }, `took the ${name} lease: running ${name}`);
          else logger.warn({ lease: name, epoch, holder }, `lost the ${name} lease: ${name} stopped`);
        },
      }),
    );
  }
  const holds = (name: JobName): boolean => !started || (keepers.get(name)?.holds() ?? true);
  return {
    holder,
    start() {
      if (started) return;
      started = true;
      for (const keeper of keepers.values()) keeper.start();
      first = Promise.all([...keepers.values()].map((k) => k.firstTry)).then(() => undefined);
    },
    async stop() {
      await Promise.all([...keepers.values()].map((k) => k.stop()));
      started = false;
    },
    ready: () => first,
    holds,
    fence(name) {
      if (!holds(name)) throw new LeaseLostError(name);
    },
    held: () => JOB_NAMES.map((name) => ({ name, held: started && (keepers.get(name)?.holds() ?? false) })),
  };
}
