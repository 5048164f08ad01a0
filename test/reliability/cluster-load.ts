// Segment-style clients for the cluster test: each spreads its batches over the serve processes in
// turn and, like Segment's clients behind a load balancer, retries a batch that met a connection
// error, a timeout or a 5xx on the next process until one acknowledges it. Each client has users of
// its own, and a batch holds at most one event per user, so no two of a user's events share a
// receive time or race each other between processes.
import { prng } from '../../src/shared/prng.ts';
import { segmentAuth } from './setup.ts';

export interface ClientTotals {
  batches: number;
  attempts: number;
  /** Attempts that failed (connection error, timeout, 5xx) and went on to another process. */
  retried: number;
  /** messageIds of acknowledged batches. */
  acknowledged: Set<string>;
  /** Batches answered 4xx: never acknowledged, and never expected for valid messages. */
  refused: string[];
}

export const newTotals = (): ClientTotals => ({
  batches: 0,
  attempts: 0,
  retried: 0,
  acknowledged: new Set(),
  refused: [],
});

export interface ClientOptions {
  id: number;
  /** Users of this client: `c<id>-u<k>`, email `c<id>-u<k>@example.com`. */
  users: number;
  perBatch: number;
  /** Pause between one batch's acknowledgement and the next batch (ms). */
  everyMs: number;
  /** The next process to send to (round-robin over the live ones), or undefined when none is up. */
  address(): string | undefined;
  running(): boolean;
  totals: ClientTotals;
}

export const userId = (client: number, k: number): string => `c${client}-u${k}`;
export const emailOf = (user: string): string => `${user}@example.com`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends one batch until a process acknowledges it (200) or refuses it (4xx), each attempt to the
 * process `address()` names then; whether it was acknowledged.
 */
export async function deliver(
  options: Pick<ClientOptions, 'address' | 'totals'> & { timeoutMs?: number },
  batch: { messageId: string }[],
): Promise<boolean> {
  const { totals, timeoutMs = 15_000 } = options;
  const body = JSON.stringify({ batch, sentAt: new Date().toISOString() });
  totals.batches++;
  for (;;) {
    const address = options.address();
    if (address === undefined) {
      await sleep(100);
      continue;
    }
    totals.attempts++;
    const status = await fetch(`${address}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: segmentAuth() },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    })
      .then(async (res) => ({ code: res.status, text: await res.text() }))
      .catch(() => undefined);
    if (status?.code === 200) {
      for (const m of batch) totals.acknowledged.add(m.messageId);
      return true;
    }
    if (status !== undefined && status.code < 500) {
      totals.refused.push(`${status.code} ${status.text.slice(0, 200)}`);
      return false;
    }
    totals.retried++;
    await sleep(50 + Math.random() * 100);
  }
}

/**
 * One client: identifies each of its users (with an email), then sends track events until told to
 * stop: mostly page-like Product Viewed, some Product Added and Order Completed (with revenue).
 */
export async function client(options: ClientOptions): Promise<void> {
  const { id, users, perBatch } = options;
  const random = prng(1000 + id);
  const identifies = Array.from({ length: users }, (_, k) => ({
    type: 'identify',
    messageId: `cl-${id}-identify-${k}`,
    userId: userId(id, k),
    traits: { email: emailOf(userId(id, k)) },
  }));
  for (let i = 0; i < identifies.length && options.running(); i += perBatch)
    await deliver(options, identifies.slice(i, i + perBatch));
  for (let b = 0; options.running(); b++) {
    const start = Math.floor(random() * users);
    const batch = Array.from({ length: Math.min(perBatch, users) }, (_, i) => {
      const dice = random();
      const event = dice < 0.7 ? 'Product Viewed' : dice < 0.88 ? 'Product Added' : 'Order Completed';
      return {
        type: 'track',
        messageId: `cl-${id}-${b}-${i}`,
        userId: userId(id, (start + i) % users),
        event,
        properties: { price: 10 + i, revenue: 20 + i },
      };
    });
    await deliver(options, batch);
    await sleep(options.everyMs);
  }
}
