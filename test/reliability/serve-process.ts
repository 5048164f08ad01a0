// A real `handoff serve` child process, commands run beside it as their own processes, and a
// steady ingest load: what the reliability tests drive.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { basic } from '../helpers/harness.ts';

export const bin = fileURLToPath(new URL('../../bin/handoff.mjs', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  address: string;
  /** Everything it printed so far (pino JSON lines on stdout, anything else on stderr). */
  output(): string;
  /** Resolves with the first log line matching, waiting up to `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `handoff serve --config <file> [args]` on a free port and waits until it listens. */
export async function startServe(
  configFile: string,
  env: Record<string, string>,
  ...args: string[]
): Promise<ServeProcess> {
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--config', configFile, '--port', '0', '--host', '127.0.0.1', ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (d: Buffer) => {
    output += d.toString();
    for (const w of [...waiters]) {
      const line = output.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const waitFor = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const line = output.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return resolve(line);
      const timer = setTimeout(
        () => reject(new Error(`serve never logged ${pattern}:\n${output.slice(-4000)}`)),
        timeoutMs,
      );
      waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then((code) =>
        reject(new Error(`serve exited (${code}) before logging ${pattern}:\n${output.slice(-4000)}`)),
      );
    });
  const listening = await waitFor(/"address":"http:/);
  const address = /"address":"(http:[^"]+)"/.exec(listening)![1]!;
  return {
    child,
    address,
    output: () => output,
    waitFor,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export interface CommandRun {
  command: string;
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

/** Runs `handoff <args> --config <file>` as its own process, as an operator would beside serve. */
export function runCommand(
  configFile: string,
  env: Record<string, string>,
  args: readonly string[],
  timeoutMs = 90_000,
): Promise<CommandRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, ...args, '--config', configFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ command: args.join(' '), code, out, err, ms: Math.round(performance.now() - started) });
    });
  });
}

export interface LoadTally {
  requests: number;
  events: number;
  failures: string[];
  /** The slowest answer (ms). */
  slowestMs: number;
}

/**
 * Sends Segment batches of `batchSize` track events every `everyMs` until stopped; each must be
 * acknowledged with a 200. `event(i)` makes the i-th event.
 */
export function steadyLoad(options: {
  url: string;
  writeKey: string;
  batchSize: number;
  everyMs: number;
  event: (i: number) => Record<string, unknown>;
}): { stop(): Promise<LoadTally> } {
  const tally: LoadTally = { requests: 0, events: 0, failures: [], slowestMs: 0 };
  let stopped = false;
  let n = 0;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      const batch = Array.from({ length: options.batchSize }, () => options.event(n++));
      try {
        const res = await fetch(`${options.url}/v1/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: basic(options.writeKey) },
          body: JSON.stringify({ batch }),
        });
        const text = await res.text();
        if (res.status !== 200) tally.failures.push(`${res.status} ${text.slice(0, 200)}`);
        else tally.events += batch.length;
      } catch (error) {
        tally.failures.push(String(error));
      }
      tally.requests++;
      const ms = performance.now() - started;
      tally.slowestMs = Math.max(tally.slowestMs, ms);
      if (ms < options.everyMs) await new Promise((r) => setTimeout(r, options.everyMs - ms));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return tally;
    },
  };
}

/** What must never appear in a command's or serve's output beside the other. */
export const BUSY = /SQLITE_BUSY|database is locked/;
/** A stack trace: a failure nobody turned into a message. */
export const STACK = /\n\s+at .+:\d+:\d+\)?/;
