import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { LeasedJob, LeaseStore, LeaseTiming } from '../shared/leases.ts';
import { DEFAULT_LEASE_TIMING, LeaseKeeper, LeaseLostError } from '../shared/leases.ts';
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

/** Leases a command took for its duration, or the one line saying which process holds one it needs. */
export type CommandClaim = { ok: true; release(): Promise<void> } | { ok: false; message: string };

/**
 * Takes `names` for a command run beside serve processes on PostgreSQL, renewing them every ttl/3
 * until `release`; when another process holds one, nothing is kept and the line names the holder.
 * On SQLite every process shares one host and the serve mark guards commands, so this takes nothing.
 */
export async function claimForCommand(
  store: LeaseStore,
  options: { postgres: boolean; names: readonly JobName[]; command: string; timing?: LeaseTiming },
): Promise<CommandClaim> {
  if (!options.postgres) return { ok: true, release: () => Promise.resolve() };
  const { ttlMs } = options.timing ?? DEFAULT_LEASE_TIMING;
  const holder = newHolder();
  const taken: { name: JobName; epoch: number }[] = [];
  const releaseAll = async () => {
    for (const t of taken) await store.release(t.name, holder, t.epoch);
  };
  for (const name of options.names) {
    const grant = await store.acquire(name, holder, ttlMs);
    if (grant === undefined) {
      await releaseAll();
      const lease = (await store.list()).find((l) => l.name === name);
      const until = lease ? new Date(lease.expiresAt).toISOString() : 'now';
      return {
        ok: false,
        message: `${options.command}: the ${name} job runs in another process (${lease?.holder ?? 'unknown'}, lease epoch ${lease?.epoch ?? '?'}, renewed until ${until}); run it there, or stop that process first`,
      };
    }
    taken.push({ name, epoch: grant.epoch });
  }
  const timer = setInterval(
    () => {
      for (const t of taken) void store.acquire(t.name, holder, ttlMs).catch(() => undefined);
    },
    Math.floor(ttlMs / 3),
  );
  timer.unref();
  return {
    ok: true,
    release: async () => {
      clearInterval(timer);
      await releaseAll();
    },
  };
}
