// ---------------------------------------------------------------------------------------------
// Part A's client, on a worker thread.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runOnWorker, sleep, wall } from '../lib.ts';
import { Rng } from '../generate/index.ts';

interface ClientJob {
  /** Where requests go, one after another in turn (several serve processes behind one balancer). */
  urls: string[];
  authorization: string;
  rate: number;
  count: number;
  /** Events per request: 1 sends /v1/track calls, more sends /v1/batch calls. */
  perRequest: number;
  /** Requests in flight at most; beyond it the sender waits (and falls behind the schedule). */
  maxInFlight: number;
  seed: string;
  /**
   * Events sent first at the same rate and left out of the results, from shoppers of their own
   * (`warmup-` ids): the server's connections, prepared statements and compiled code are those
   * of a service that has been running, as every measured event after them sees.
   */
  warmup: number;
}

export interface ClientResult {
  /** Per event: wall ms when sent and when its response was read (NaN if it failed). */
  sent: Float64Array;
  acked: Float64Array;
  /** Per event: the index of the first event from the same shopper (itself when new). */
  shopper: Int32Array;
  failures: string[];
  seconds: number;
  maxInFlight: number;
}

export const messageIdOf = (i: number): string => `latency-${i}`;

/** Sends the warm-up, then the measured events straight after it at the same pace. */
async function sendPaced(job: ClientJob): Promise<ClientResult> {
  const warm = paced({ ...job, count: job.warmup }, 'warmup');
  await warm.scheduled;
  const measured = paced(job, 'latency');
  await measured.scheduled;
  const [warmResult, result] = await Promise.all([warm.done, measured.done]);
  const failures = [...warmResult.failures.map((f) => `warm-up ${f}`), ...result.failures];
  return { ...result, failures };
}

/** Sends `job.count` events paced at `job.rate`; `scheduled` once the last is sent, `done` once answered. */
function paced(job: ClientJob, prefix: string): { scheduled: Promise<void>; done: Promise<ClientResult> } {
  let scheduled: () => void = () => {};
  const allSent = new Promise<void>((resolve) => (scheduled = resolve));
  const done = sendEach(job, prefix, scheduled);
  return { scheduled: allSent, done };
}

async function sendEach(job: ClientJob, prefix: string, scheduled: () => void): Promise<ClientResult> {
  const rng = new Rng(`${job.seed}-${prefix}`);
  const sent = new Float64Array(job.count).fill(NaN);
  const acked = new Float64Array(job.count).fill(NaN);
  const shopper = new Int32Array(job.count);
  const failures: string[] = [];
  const headers = { authorization: job.authorization, 'content-type': 'application/json' };
  const products = [
    {
      product_id: '7301000123',
      sku: 'SK-HYDSER-41',
      name: 'Hydrating Serum',
      category: 'Skincare',
      collection: 'new',
      price: 38,
    },
    {
      product_id: '7301007920',
      sku: 'HC-REPSHA-22',
      name: 'Repair Shampoo',
      category: 'Haircare',
      collection: 'core',
      price: 24,
    },
    {
      product_id: '7301015840',
      sku: 'BD-CITBOD-63',
      name: 'Citrus Body Wash',
      category: 'Body',
      collection: 'bestsellers',
      price: 18.99,
    },
  ];
  let inFlight = 0;
  let maxInFlight = 0;
  let requests = 0;
  const pending = new Set<Promise<void>>();
  const message = (i: number): Record<string, unknown> => {
    shopper[i] = i > 20 && rng.chance(0.3) ? shopper[rng.int(i)]! : i;
    const product = rng.pick(products);
    return {
      type: 'track',
      event: 'Product Added',
      anonymousId: `${prefix}-shopper-${shopper[i]}`,
      messageId: `${prefix}-${i}`,
      timestamp: new Date().toISOString(),
      properties: { cart_id: `cart-${shopper[i]}`, ...product, quantity: 1, currency: 'USD' },
      context: { library: { name: 'analytics.js', version: 'npm:next-1.72.0' } },
    };
  };
  /** Sends events [from, to) in one request. */
  const send = (from: number, to: number): void => {
    const messages = [];
    for (let i = from; i < to; i++) messages.push(message(i));
    const body = JSON.stringify(job.perRequest === 1 ? messages[0] : { batch: messages });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const at = wall();
    for (let i = from; i < to; i++) sent[i] = at;
    const url = job.urls[requests++ % job.urls.length]!;
    const p = fetch(url, { method: 'POST', headers, body })
      .then(async (res) => {
        const text = await res.text();
        const done = wall();
        if (res.status === 200) for (let i = from; i < to; i++) acked[i] = done;
        else failures.push(`events ${from}–${to - 1}: HTTP ${res.status}: ${text.slice(0, 200)}`);
      })
      .catch((error: Error) => void failures.push(`events ${from}–${to - 1}: ${error.message}`))
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };
  const started = performance.now();
  let next = 0;
  while (next < job.count) {
    const due = Math.min(job.count, Math.floor(((performance.now() - started) * job.rate) / 1000) + 1);
    // Whole requests only: a batch goes once all of its events are due.
    while (next < due && (due - next >= job.perRequest || due === job.count) && inFlight < job.maxInFlight) {
      const to = Math.min(job.count, next + job.perRequest);
      send(next, to);
      next = to;
    }
    await sleep(1);
  }
  scheduled();
  await Promise.all(pending);
  return { sent, acked, shopper, failures, seconds: (performance.now() - started) / 1000, maxInFlight };
}

if (!isMainThread) {
  const port = parentPort!;
  const job = workerData as ClientJob;
  port.once('message', () => {
    void sendPaced(job).then((r) =>
      port.postMessage(r, [
        r.sent.buffer as ArrayBuffer,
        r.acked.buffer as ArrayBuffer,
        r.shopper.buffer as ArrayBuffer,
      ]),
    );
  });
  port.postMessage('ready');
}

export function clientWorker(job: ClientJob): { ready: Promise<void>; go: () => Promise<ClientResult> } {
  return runOnWorker<ClientResult>(import.meta.url, job);
}
