// Helpers every benchmark shares: formatting, percentiles, CPU profile summaries, worker clients.
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import type { TransferListItem } from 'node:worker_threads';
import { Worker } from 'node:worker_threads';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across threads. */
export const wall = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
export const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : String(n);
/** A command-line count: a positive whole number, `1_000_000` and `1,000,000` accepted. */
export function count(name: string, text: string): number {
  const n = Number(text.replace(/[_,]/g, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`--${name} must be a positive whole number (got ${text})`);
  return n;
}
export const mb = (bytes: number): number => bytes / 1024 / 1024;

/** The nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Prints where a CPU profile's samples fall: by area (our folders, packages, native) and by function. */
export function summarizeProfile(profile: Profiler.Profile, label: string, topN = 25): void {
  const hits = new Map<number, number>();
  for (const id of profile.samples ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
  const total = profile.samples?.length ?? 0;
  if (total === 0) return;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  const cwd = new URL(`file://${process.cwd()}/`).href;
  for (const node of profile.nodes) {
    const count = hits.get(node.id) ?? 0;
    if (count === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.startsWith(cwd) ? url.slice(cwd.length) : url;
    const key = `${functionName || '(anonymous)'}${where ? ` ${where}:${lineNumber + 1}` : ''}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + count);
    const area = !where
      ? functionName.startsWith('(')
        ? functionName
        : `native: ${functionName}`
      : (/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where)?.[1] ??
        (where.startsWith('node:') ? 'node:internal' : where.replace(/\/[^/]+$/, '/')));
    byArea.set(area, (byArea.get(area) ?? 0) + count);
  }
  const top = (m: Map<string, number>, k: number): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, count]) => `  ${fmt((100 * count) / total, 1).padStart(5)}%  ${name}`)
      .join('\n');
  console.log(
    `${label} profile, ${fmt(total)} samples; by area:\n${top(byArea, 12)}\ntop functions by self time:\n${top(byFunction, topN)}`,
  );
}

/** Starts sampling this thread's CPU (500 µs interval); stop with `Profiler.stop` on the session. */
export async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return session;
}

/**
 * Runs a benchmark's client on a worker thread, so it does not share the server's event loop.
 * The worker loads `moduleUrl` (which posts 'ready', waits for 'go', then posts its result);
 * `go()` starts it and resolves with that result.
 */
export function runOnWorker<R>(
  moduleUrl: string,
  job: unknown,
  transferList: readonly TransferListItem[] = [],
): { ready: Promise<void>; go: () => Promise<R> } {
  // Node 20 does not carry tsx's loader hooks into workers: register them, then load the module.
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
    .then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); })`;
  const worker = new Worker(bootstrap, { eval: true, workerData: job, transferList: [...transferList] });
  let onResult: (r: R) => void = () => {};
  let onError: (e: Error) => void = () => {};
  const result = new Promise<R>((resolve, reject) => {
    onResult = resolve;
    onError = reject;
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.once('message', () => {
      worker.off('error', reject);
      worker.once('error', onError);
      worker.once('message', (r: R) => {
        onResult(r);
        void worker.terminate();
      });
      resolve();
    });
  });
  return {
    ready,
    go: () => {
      worker.postMessage('go');
      return result;
    },
  };
}

/** The command's arguments, with `--profile` given an empty file name when it comes without one. */
export function benchArgs(): string[] {
  const args = process.argv.slice(2);
  const at = args.indexOf('--profile');
  if (at >= 0 && (args[at + 1] === undefined || args[at + 1]!.startsWith('--'))) args.splice(at + 1, 0, '');
  return args;
}

/** Which store a benchmark runs on: `--store sqlite` (the default) or `--store postgres`. */
export type StoreKind = 'sqlite' | 'postgres';

/** The `--store` option as every benchmark declares it to parseArgs. */
export const STORE_OPTION = { store: { type: 'string', default: 'sqlite' } } as const;

/** The `--store` value, parsed once for every benchmark; anything else is refused. */
export function storeKind(text: string | undefined): StoreKind {
  if (text === undefined || text === 'sqlite') return 'sqlite';
  if (text === 'postgres') return 'postgres';
  throw new Error(`--store must be sqlite or postgres (got ${text})`);
}
