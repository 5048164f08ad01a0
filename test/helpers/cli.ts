import type { Io } from '../../src/cli/config-path.ts';
import { main } from '../../src/cli/main.ts';
import { storeEnv } from './store.ts';

/**
 * Runs `handoff <args> --config <configFile>` in-process; what it printed and its exit code. The
 * test store's variables (`storeEnv`) come first in its environment.
 */
export async function runCli(
  configFile: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { ...storeEnv(), ...env },
    isTTY: false,
  };
  const code = await main(['node', 'handoff', ...args, '--config', configFile], io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
