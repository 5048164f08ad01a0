import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config/load.ts';
import { loadConfigFile } from '../config/load.ts';

const bundledExample = fileURLToPath(new URL('../../examples/handoff.yaml', import.meta.url));

/** The config file: --config, else HANDOFF_CONFIG, else ./handoff.yaml, else the bundled example. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag) return flag;
  if (env.HANDOFF_CONFIG) return env.HANDOFF_CONFIG;
  return existsSync('handoff.yaml') ? 'handoff.yaml' : bundledExample;
}

/** Loads the config or prints what to fix and returns undefined. */
export function loadConfigOrReport(flag: string | undefined, io: Io): Config | undefined {
  const file = configPath(flag, io.env);
  const loaded = loadConfigFile(file, io.env);
  if (loaded.ok) return loaded.value;
  io.err(loaded.error.message);
  return undefined;
}

/** What a command may touch of the outside world, so tests can run commands in-process. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
  env: process.env,
  isTTY: Boolean(process.stdout.isTTY),
};
