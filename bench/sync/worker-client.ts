// ---------------------------------------------------------------------------------------------
// Part 2's client, on a worker thread.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runOnWorker, sleep, wall } from '../lib.ts';
import { emailOf } from './common.ts';

interface ClientJob {
  url: string;
  authorization: string;
  rate: number;
  count: number;
}

interface ClientResult {
  /** Per event: wall ms when its 200 was read (NaN if it failed). */
  acked: Float64Array;
  failures: string[];
}

async function sendPaced(job: ClientJob): Promise<ClientResult> {
  const acked = new Float64Array(job.count).fill(NaN);
  const failures: string[] = [];
  const headers = { authorization: job.authorization, 'content-type': 'application/json' };
  const pending = new Set<Promise<void>>();
  const send = (i: number): void => {
    const body = JSON.stringify({
      userId: `l${i}`,
      event: 'Product Added',
      messageId: `latency-${i}`,
      properties: { product_id: `sku-${i % 120}`, price: 25, currency: 'USD' },
      context: { traits: { email: emailOf('l', i) } },
    });
    const p = fetch(job.url, { method: 'POST', headers, body })
      .then(async (res) => {
        const text = await res.text();
        const done = wall();
        if (res.status === 200) acked[i] = done;
        else failures.push(`event ${i}: HTTP ${res.status}: ${text.slice(0, 200)}`);
      })
      .catch((error: Error) => void failures.push(`event ${i}: ${error.message}`))
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  const started = performance.now();
  for (let i = 0; i < job.count; i++) {
    const wait = started + (i * 1000) / job.rate - performance.now();
    if (wait > 0) await sleep(wait);
    send(i);
  }
  await Promise.all(pending);
  return { acked, failures };
}

if (!isMainThread) {
  const port = parentPort!;
  const job = workerData as ClientJob;
  port.once('message', () => {
    void sendPaced(job).then((result) => port.postMessage(result, [result.acked.buffer as ArrayBuffer]));
  });
  port.postMessage('ready');
}

export function sendFromWorker(job: ClientJob): { ready: Promise<void>; go: () => Promise<ClientResult> } {
  return runOnWorker<ClientResult>(import.meta.url, job);
}
