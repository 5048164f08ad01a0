// `handoff serve` as a real child process on a port the OS picks, for tests that must see the
// process itself: its exit, a SIGKILL, its log. Every process started here is tracked, and
// `stopAll` (call it from an `after` hook) kills whatever is still running, even after a failure.
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCwd, storeEnv } from './store.ts';

export const HANDOFF_BIN = fileURLToPath(new URL('../../bin/handoff.mjs', import.meta.url));

export interface Served {
  child: ChildProcessWithoutNullStreams;
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  address: string;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Whether the process is still running. */
  alive(): boolean;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/**
 * Starts `handoff serve --config <file> --port 0` and resolves once it logs its address. The test
 * store's variables come with its environment; on PostgreSQL it runs in the config's directory,
 * where the files a serve keeps beside its database (secrets.json, its mark) then land.
 */
export async function startServe(
  configFile: string,
  env: Record<string, string>,
  options: { timeoutMs?: number; args?: string[] } = {},
): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      HANDOFF_BIN,
      'serve',
      '--config',
      configFile,
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      ...(options.args ?? []),
    ],
    {
      env: { ...process.env, ...storeEnv(), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...processCwd(dirname(configFile)),
    },
  );
  running.add(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  const timeoutMs = options.timeoutMs ?? 30_000;
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not start within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const look = () => {
      const match = /"address":"(http:[^"]+)"/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        child.stdout.off('data', look);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', look);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    child,
    address,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited,
  };
}

/** `kill -9`, then waits for the exit. */
export async function kill9(served: Served): Promise<void> {
  served.child.kill('SIGKILL');
  await served.exited;
}

/** SIGTERM, then waits up to `timeoutMs` for the exit; SIGKILL after that. Resolves to how it ended. */
export async function stopServe(
  served: Served,
  timeoutMs = 15_000,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; timedOut: boolean }> {
  if (!served.alive()) return { ...(await served.exited), timedOut: false };
  served.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    served.exited,
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs))),
  ]);
  clearTimeout(timer);
  if (result !== 'timeout') return { ...result, timedOut: false };
  await kill9(served);
  return { ...(await served.exited), timedOut: true };
}

/** Kills every serve this module started that is still running; for `after` hooks. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}

/** A gauge or counter's value from the Prometheus text at `/metrics` (summed over its label sets). */
export async function metric(address: string, adminToken: string, name: string): Promise<number | undefined> {
  const res = await fetch(`${address}/metrics`, { headers: { authorization: `Bearer ${adminToken}` } });
  if (res.status !== 200) return undefined;
  const text = await res.text();
  let found: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (match?.[1] === name) found = (found ?? 0) + Number(match[3]);
  }
  return found;
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes; whether it did. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  everyMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
