// A parse worker: checks ingest request bodies off the server's event loop (see parse-pool.ts).
import { parentPort } from 'node:worker_threads';
import type { CheckJob, CheckReply } from './parse-pool.ts';
import { checkRequest } from './check-request.ts';

const port = parentPort;
if (!port) throw new Error('parse-worker.ts runs only as a worker thread');
port.on('message', ({ id, body, call, context }: CheckJob) => {
  let reply: CheckReply;
  try {
    reply = { id, result: checkRequest(body, call, context) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
  }
  port.postMessage(reply);
});
port.postMessage({ ready: true } satisfies CheckReply);
