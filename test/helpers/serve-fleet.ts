// Several `handoff serve` processes on one PostgreSQL schema, each in a numbered slot that can be
// killed (`kill -9`), frozen (SIGSTOP) and restarted: what the cluster reliability test and
// `npm run bench:failover` drive. Each slot gets its own environment (e.g. its own Cordial API
// key, so the fake's log says which process sent what). Leases are read the way an operator reads
// them, from `GET /api/admin/cluster` of any live process.
import type { Served } from './serve-process.ts';
import { kill9, startServe } from './serve-process.ts';

/** One lease as `GET /api/admin/cluster` lists it. */
export interface LeaseView {
  name: string;
  /** `host:pid:tag` */
  holder: string;
  epoch: number;
  expiresAt: number;
  expired: boolean;
}

export interface FleetOptions {
  configFile: string;
  /** How many processes. */
  size: number;
  /** The environment of the process in `slot` (merged over the test store's). */
  env(slot: number): Record<string, string>;
  adminToken: string;
  /** Extra `serve` arguments. */
  args?: string[];
}

/** The pid inside a holder name (`host:pid:tag`). */
export const pidOfHolder = (holder: string): number => Number(holder.split(':').at(-2));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ServeFleet {
  /** The process in each slot; undefined while it is down. */
  readonly slots: (Served | undefined)[];
  private readonly frozen = new Set<number>();
  private next = 0;

  constructor(private readonly options: FleetOptions) {
    this.slots = Array.from({ length: options.size }, () => undefined);
  }

  /** Starts the first slot (it applies the migrations), then the others together. */
  async startAll(): Promise<void> {
    await this.start(0);
    await Promise.all(this.slots.slice(1).map((_, i) => this.start(i + 1)));
  }

  async start(slot: number): Promise<Served> {
    const served = await startServe(this.options.configFile, this.options.env(slot), {
      timeoutMs: 60_000,
      ...(this.options.args ? { args: this.options.args } : {}),
    });
    this.slots[slot] = served;
    return served;
  }

  /** The address of a live, unfrozen process, taking the slots in turn (round-robin), or undefined. */
  nextAddress(): string | undefined {
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.next++ % this.slots.length;
      const served = this.slots[slot];
      if (served?.alive() && !this.frozen.has(slot)) return served.address;
    }
    return undefined;
  }

  /** The slots whose process is up (started, alive, not frozen). */
  upSlots(): number[] {
    return this.slots.flatMap((s, slot) => (s?.alive() && !this.frozen.has(slot) ? [slot] : []));
  }

  /** The slot whose process has `pid`, if it is one of ours. */
  slotOfPid(pid: number): number | undefined {
    const slot = this.slots.findIndex((s) => s?.child.pid === pid);
    return slot < 0 ? undefined : slot;
  }

  /** The slot of a lease's holder, when it is a live process of the fleet. */
  slotOf(lease: LeaseView): number | undefined {
    return this.slotOfPid(pidOfHolder(lease.holder));
  }

  /** Every lease, from the first live process that answers; undefined when none does. */
  async leases(): Promise<LeaseView[] | undefined> {
    for (const [slot, served] of this.slots.entries()) {
      if (!served?.alive() || this.frozen.has(slot)) continue;
      const body = await fetch(`${served.address}/api/admin/cluster`, {
        headers: { authorization: `Bearer ${this.options.adminToken}` },
        signal: AbortSignal.timeout(5_000),
      })
        .then((res) => (res.status === 200 ? (res.json() as Promise<{ leases: LeaseView[] }>) : undefined))
        .catch(() => undefined);
      if (body) return body.leases;
    }
    return undefined;
  }

  /** `kill -9` of the process in `slot`; resolves once it has exited. */
  async kill(slot: number): Promise<void> {
    const served = this.slots[slot];
    this.slots[slot] = undefined;
    this.frozen.delete(slot);
    if (served?.alive()) await kill9(served);
  }

  freeze(slot: number): void {
    this.frozen.add(slot);
    this.slots[slot]?.child.kill('SIGSTOP');
  }

  thaw(slot: number): void {
    this.slots[slot]?.child.kill('SIGCONT');
    this.frozen.delete(slot);
  }

  /**
   * Waits until every lease in `names` is held, unexpired, by a holder other than `formerHolder`,
   * polling every `everyMs`; resolves to the new leases, or undefined after `timeoutMs`.
   */
  async takenOver(
    names: readonly string[],
    formerHolder: string,
    timeoutMs: number,
    everyMs = 100,
  ): Promise<LeaseView[] | undefined> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const leases = await this.leases();
      const taken = names.map((n) =>
        leases?.find((l) => l.name === n && !l.expired && l.holder !== formerHolder),
      );
      if (taken.every((l) => l !== undefined)) return taken;
      await sleep(everyMs);
    }
    return undefined;
  }

  /** SIGCONT to anything frozen, then `kill -9` of every process. */
  async stopAll(): Promise<void> {
    for (const slot of this.frozen) this.slots[slot]?.child.kill('SIGCONT');
    this.frozen.clear();
    await Promise.all(this.slots.map((_, slot) => this.kill(slot)));
  }
}
