import { prng } from '../../../src/shared/prng.ts';
/** A response to send instead of handling the request. */
export interface InjectedResponse {
  status: number;
  /** Default: Cordial's envelope for the status (429 gets the rate-limit body). */
  body?: unknown;
  headers?: Record<string, string>;
}

/** Statuses that can be injected at a rate. */
export type InjectableStatus = 429 | 422 | 500 | 502 | 503;

/** Fault settings; `set` replaces them all (an omitted field is off). */
export interface FaultConfig {
  /** Per-status probability (0–1) of answering with that status instead; the sum must be ≤ 1. */
  status?: Partial<Record<InjectableStatus, number>>;
  /** Delay before every /v2 response, in ms: fixed, or uniform in [min, max]. */
  latencyMs?: number | [number, number];
  /** Probability of destroying the socket before handling, sending nothing. */
  resetRate?: number;
  /** Probability of handling the request (state changes) and then destroying the socket: a lost reply. */
  resetAfterApplyRate?: number;
  /** Responses for the next requests, in order; consumed before any rate applies. */
  failNext?: InjectedResponse[];
  /** PRNG seed, so a failing run can be replayed; default: the server's `seed` option (1). */
  seed?: number;
}

/** What to do with one request. */
export type FaultDecision =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'reset'; latencyMs: number }
  | { kind: 'reset-after-apply'; latencyMs: number }
  | { kind: 'respond'; latencyMs: number; response: InjectedResponse; source: 'failNext' | 'status' };

const checkRate = (name: string, rate: number | undefined): void => {
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new Error(`${name} must be between 0 and 1`);
};

/** Seeded fault injection, settable at runtime. */
export class Faults {
  private config: FaultConfig = {};
  private queue: InjectedResponse[] = [];
  private random: () => number;

  constructor(private readonly defaultSeed = 1) {
    this.random = prng(defaultSeed);
  }

  set(config: FaultConfig): void {
    const statusRates = Object.entries(config.status ?? {});
    for (const [status, rate] of statusRates) checkRate(`status.${status}`, rate);
    if (statusRates.reduce((sum, [, rate]) => sum + (rate ?? 0), 0) > 1) {
      throw new Error('the status rates add up to more than 1');
    }
    checkRate('resetRate', config.resetRate);
    checkRate('resetAfterApplyRate', config.resetAfterApplyRate);
    const latency = config.latencyMs;
    if (
      Array.isArray(latency)
        ? !(latency[0] >= 0 && latency[1] >= latency[0])
        : latency !== undefined && !(latency >= 0)
    ) {
      throw new Error('latencyMs must be a number ≥ 0 or [min, max] with 0 ≤ min ≤ max');
    }
    this.config = structuredClone(config);
    this.queue = [...(config.failNext ?? [])];
    this.random = prng(config.seed ?? this.defaultSeed);
  }

  /** The settings now in force, with what is left of the failNext queue. */
  get(): FaultConfig {
    return { ...structuredClone(this.config), failNext: structuredClone(this.queue) };
  }

  clear(): void {
    this.set({});
  }

  decide(): FaultDecision {
    const latencyMs = this.latency();
    const next = this.queue.shift();
    if (next) return { kind: 'respond', latencyMs, response: next, source: 'failNext' };
    const { resetRate = 0, resetAfterApplyRate = 0, status = {} } = this.config;
    if (resetRate > 0 && this.random() < resetRate) return { kind: 'reset', latencyMs };
    const statusRates = Object.entries(status).filter(([, rate]) => (rate ?? 0) > 0);
    if (statusRates.length > 0) {
      let dice = this.random();
      for (const [code, rate] of statusRates) {
        dice -= rate ?? 0;
        if (dice < 0)
          return { kind: 'respond', latencyMs, response: { status: Number(code) }, source: 'status' };
      }
    }
    if (resetAfterApplyRate > 0 && this.random() < resetAfterApplyRate)
      return { kind: 'reset-after-apply', latencyMs };
    return { kind: 'none', latencyMs };
  }

  private latency(): number {
    const l = this.config.latencyMs;
    if (l === undefined) return 0;
    if (typeof l === 'number') return l;
    return Math.round(l[0] + this.random() * (l[1] - l[0]));
  }
}
