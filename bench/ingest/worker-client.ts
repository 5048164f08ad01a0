import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { request } from 'undici';
import { runOnWorker } from '../lib.ts';
import { osThreadId } from './cpu.ts';

export interface ClientJob {
  /** Where to POST: request i goes to `urls[i % urls.length]` (several serve processes: round-robin). */
  urls: string[];
  authorization: string;
  bodies: Uint8Array[];
  /** Events in each body. */
  counts: number[];
  clients: number;
}

export interface ClientResult {
  /** Per request, ms from send to the response body read; NaN when the request failed. */
  latencies: Float64Array;
  acknowledged: number;
  /** Share of the run the clients' event loop was busy (0–1); near 1 means the clients limit the rate. */
  loopBusy: number;
  failures: string[];
  /** The clients' OS thread id (Linux), to split the process's CPU time by thread. */
  threadId: number | undefined;
}

/** This thread's OS id on Linux (/proc/thread-self), else undefined. */

export async function sendAll(job: ClientJob): Promise<ClientResult> {
  const latencies = new Float64Array(job.bodies.length).fill(NaN);
  const loopBefore = performance.eventLoopUtilization();
  const failures: string[] = [];
  let acknowledged = 0;
  let next = 0;
  const headers = { authorization: job.authorization, 'content-type': 'application/json' };
  const loop = async (): Promise<void> => {
    for (let i = next++; i < job.bodies.length; i = next++) {
      const started = performance.now();
      try {
        const res = await request(job.urls[i % job.urls.length]!, {
          method: 'POST',
          headers,
          body: job.bodies[i],
        });
        const text = await res.body.text();
        latencies[i] = performance.now() - started;
        if (res.statusCode !== 200) {
          failures.push(`request ${i}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
          continue;
        }
        const body = JSON.parse(text) as { accepted?: number; duplicates?: number };
        if (body.accepted === undefined || body.accepted !== job.counts[i] || body.duplicates !== 0) {
          failures.push(
            `request ${i}: accepted ${body.accepted}, duplicates ${body.duplicates} of ${job.counts[i]}`,
          );
          continue;
        }
        acknowledged += body.accepted;
      } catch (error) {
        failures.push(`request ${i}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: job.clients }, loop));
  const loopBusy = performance.eventLoopUtilization(loopBefore).utilization;
  return { latencies, acknowledged, failures, loopBusy, threadId: osThreadId() };
}

// The worker side: receive the job, say ready, send on 'go', report back.
if (!isMainThread) {
  const port = parentPort!;
  const job = workerData as ClientJob;
  port.once('message', () => {
    void sendAll(job).then((result) => port.postMessage(result, [result.latencies.buffer as ArrayBuffer]));
  });
  port.postMessage('ready');
}

/** Runs the clients on a worker thread; resolves with their result once they finish. */
export function sendFromWorker(job: ClientJob): { ready: Promise<void>; go: () => Promise<ClientResult> } {
  return runOnWorker<ClientResult>(
    import.meta.url,
    job,
    job.bodies.map((b) => b.buffer as ArrayBuffer),
  );
}
