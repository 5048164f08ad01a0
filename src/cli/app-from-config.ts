import type { App } from '../app/app.ts';
import { openApp } from '../app/app.ts';
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
