import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CheckContext } from './check.ts';
import type { CheckedRequest, IngestCall } from './check-request.ts';
import { checkRequest } from './check-request.ts';

/** A body sent to a parse worker, and its answer. */
export interface CheckJob {
  id: number;
  body: Uint8Array;
  call: IngestCall;
  context: CheckContext;
}
export type CheckReply =
  | { id: number; result: CheckedRequest }
  | { id: number; error: string }
  /** Sent once, when the worker has loaded and takes jobs. */
  | { ready: true };

export interface ParsePoolOptions {
  /** Worker threads at most; default one less than the CPUs (at least 1). 0 checks every body inline. */
  workers?: number;
  /** Bodies smaller than this (bytes) are checked inline: the hop would cost more. Default 16 KB. */
  inlineBelowBytes?: number;
}

interface Waiting {
  resolve: (result: CheckedRequest) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  /** False while the worker loads (a few hundred ms under tsx); bodies are checked inline meanwhile. */
  ready: boolean;
  /** Settles when the worker has loaded, or failed to. */
  loaded: Promise<void>;
  /** Bodies sent and not yet answered, by job id. */
  pending: Map<number, Waiting>;
}

/** Workers run TypeScript through tsx, whose loader hooks Node 20 does not carry into workers. */
const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./parse-worker.ts', import.meta.url).href)}); })`;

/**
 * Parses and checks ingest request bodies (checkRequest) on worker threads, so the server's event
 * loop keeps only authentication, dedupe and the insert. Workers start on the first large body,
 * which (like any body arriving before a worker has loaded) is checked inline, and are
 * unreferenced while idle, so an idle pool never holds the process open.
 */
export class ParsePool {
  private readonly size: number;
  private readonly inlineBelow: number;
  private readonly slots: Slot[] = [];
  private nextId = 0;
  private closed = false;

  constructor(options: ParsePoolOptions = {}) {
    this.size = options.workers ?? Math.max(1, availableParallelism() - 1);
    this.inlineBelow = options.inlineBelowBytes ?? 16 * 1024;
  }

  check(body: Buffer, call: IngestCall, context: CheckContext): Promise<CheckedRequest> {
    const slot =
      this.size === 0 || this.closed || body.byteLength < this.inlineBelow ? undefined : this.leastBusy();
    if (slot === undefined) return Promise.resolve(checkRequest(body, call, context));
    const id = this.nextId++;
    // Moved, not copied, when the body owns its memory; small pooled buffers are copied first.
    const own =
      body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? body : Uint8Array.from(body);
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      if (slot.pending.size === 1) slot.worker.ref();
      const job: CheckJob = { id, body: own, call, context };
      slot.worker.postMessage(job, [own.buffer as ArrayBuffer]);
    });
  }

  /** Starts every worker now and resolves once they have loaded (a failed start rejects). */
  async warm(): Promise<void> {
    while (!this.closed && this.size > 0 && this.slots.length < this.size) this.start();
    await Promise.all(this.slots.map((s) => s.loaded));
  }

  /** Stops the workers; bodies still being checked fail. Later bodies are checked inline. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** An idle worker, else a new one (starting), else the least busy; undefined while none has loaded. */
  private leastBusy(): Slot | undefined {
    const ready = this.slots.filter((s) => s.ready);
    const idle = ready.find((s) => s.pending.size === 0);
    if (idle) return idle;
    if (this.slots.length < this.size) this.start();
    if (ready.length === 0) return undefined;
    return ready.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  private start(): void {
    const worker = new Worker(bootstrap, { eval: true });
    worker.unref();
    let loaded: () => void = () => {};
    let failed: (error: Error) => void = () => {};
    const slot: Slot = {
      worker,
      ready: false,
      pending: new Map(),
      loaded: new Promise((resolve, reject) => {
        loaded = resolve;
        failed = reject;
      }),
    };
    // Nobody may be waiting for the load: the rejection is seen by warm() callers only.
    slot.loaded.catch(() => {});
    const settle = (id: number): Waiting | undefined => {
      const waiting = slot.pending.get(id);
      slot.pending.delete(id);
      if (slot.pending.size === 0) worker.unref();
      return waiting;
    };
    worker.on('message', (reply: CheckReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        loaded();
        return;
      }
      const waiting = settle(reply.id);
      if ('error' in reply) waiting?.reject(new Error(`checking an ingest body failed: ${reply.error}`));
      else waiting?.resolve(reply.result);
    });
    const fail = (error: Error): void => {
      const at = this.slots.indexOf(slot);
      if (at >= 0) this.slots.splice(at, 1);
      failed(error);
      for (const id of [...slot.pending.keys()]) settle(id)?.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`an ingest parse worker exited (code ${code})`)));
    this.slots.push(slot);
  }
}
