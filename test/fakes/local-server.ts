// What every fake vendor server shares: listening on loopback, latency sleeps that close() can
// cut short, and closing without waiting for delayed responses.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Sleeps for injected latency; `wakeAll()` ends every pending one at once. */
export function latencySleeps(): { sleep: (ms: number) => Promise<void>; wakeAll: () => void } {
  const timers = new Map<NodeJS.Timeout, () => void>();
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.set(timer, resolve);
      }),
    wakeAll: () => {
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
    },
  };
}

/** Listens on 127.0.0.1 (port 0: any free one) and returns the origin URL. */
export async function listenLocal(server: Server, port = 0): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes the server and drops its connections rather than waiting for them. */
export async function closeNow(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  server.closeAllConnections();
  await closed;
}

/** A positive number from a CLI flag, or a clear error. */
export function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--${name} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}
