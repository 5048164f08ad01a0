import type { App } from '../app/app.ts';
import { openApp } from '../app/app.ts';
import type { Claim } from '../app/commands.ts';
import type { JobName } from '../app/jobs.ts';
import { storeFailure } from './serve-startup.ts';
import type { Io } from './config-path.ts';
import { loadConfigOrReport } from './config-path.ts';

/** Loads the config and opens the configured store, for commands that work on the database. */
export async function appFromConfig(options: { config?: string }, io: Io): Promise<App | undefined> {
  const config = loadConfigOrReport(options.config, io);
  if (!config) return undefined;
  try {
    return await openApp({ config });
  } catch (error) {
    io.err(storeFailure(config, error, 'handoff'));
    return undefined;
  }
}

/** Runs `work` with an app and always closes it. */
export async function withApp(
  options: { config?: string },
  io: Io,
  work: (app: App) => Promise<number>,
): Promise<number> {
  const app = await appFromConfig(options, io);
  if (!app) return 2;
  try {
    return await work(app);
  } finally {
    await app.stop();
  }
}

/** Runs `work` with the narrow service `service` builds from an app, and always closes the app. */
export function withService<S>(
  options: { config?: string },
  io: Io,
  service: (app: App) => S,
  work: (service: S) => Promise<number>,
): Promise<number> {
  return withApp(options, io, (app) => work(service(app)));
}

/**
 * Runs `work` while this command holds the job leases `names` (PostgreSQL, beside serve
 * processes); when another process holds one, prints the line naming it and returns 2.
 */
export async function underLeases(
  lease: { claim: Claim; names: readonly JobName[]; command: string; io: Io },
  work: () => Promise<number>,
): Promise<number> {
  const claim = await lease.claim(lease.names, lease.command);
  if (!claim.ok) {
    lease.io.err(claim.message);
    return 2;
  }
  try {
    return await work();
  } finally {
    await claim.release();
  }
}
