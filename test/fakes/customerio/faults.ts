import { prng } from '../../../src/shared/prng.ts';
/** Statuses that can be injected at a rate. */
export type InjectableStatus = 429 | 500 | 502 | 503;

/** Fault settings; `set` replaces them all (an omitted field is off). */
export interface FaultConfig {
  /** Per-status probability (0–1) of answering with that status instead; the sum must be ≤ 1. */
  status?: Partial<Record<InjectableStatus, number>>;
  /**
   * Membership pagination: page n+1 of every chain answers 500 once; a retry of the same `start`
   * succeeds. A chain is one pass begun by a request without `start`. Integer ≥ 1.
   */
  failAfterPages?: number;
  /**
   * Membership pagination ends early: pages 1..n are served (page n still carries `next`), and
   * the request for page n+1 gets `truncateWith`, on every chain until cleared. Integer ≥ 1.
   */
  truncateAfterPages?: number;
  /** What a truncated chain's page n+1 gets: an empty last page (default) or a 404. */
  truncateWith?: 'empty' | 404;
  /** Delay before every /v1 response, in ms: fixed, or uniform in [min, max]. */
  latencyMs?: number | [number, number];
  /** Probability of destroying the socket before handling, sending nothing. */
  resetRate?: number;
  /** PRNG seed, so a failing run can be replayed; default: the server's `seed` option (1). */
  seed?: number;
}

/** What the network in front of the fake does with one request. */
export type FaultDecision =
  | { kind: 'none'; latencyMs: number }
  | { kind: 'reset'; latencyMs: number }
  | { kind: 'status'; latencyMs: number; status: InjectableStatus };

/** What a membership page request gets from the pagination faults. */
export type PageFault = 'fail' | 'truncate-empty' | 'truncate-404' | undefined;

const checkRate = (name: string, rate: number | undefined): void => {
  if (rate !== undefined && !(rate >= 0 && rate <= 1)) throw new Error(`${name} must be between 0 and 1`);
};

const checkPages = (name: string, n: number | undefined): void => {
  if (n !== undefined && !(Number.isInteger(n) && n >= 1)) throw new Error(`${name} must be an integer ≥ 1`);
};

/** Seeded fault injection, settable at runtime. */
export class Faults {
  private config: FaultConfig = {};
  private random: () => number;
  /** Chains whose failAfterPages 500 has been sent. */
  private failed = new Set<number>();

  constructor(private readonly defaultSeed = 1) {
    this.random = prng(defaultSeed);
  }

  set(config: FaultConfig): void {
    const statusRates = Object.entries(config.status ?? {});
    for (const [status, rate] of statusRates) {
      if (!['429', '500', '502', '503'].includes(status))
        throw new Error(`status ${status} cannot be injected`);
      checkRate(`status.${status}`, rate);
    }
    if (statusRates.reduce((sum, [, rate]) => sum + (rate ?? 0), 0) > 1)
      throw new Error('the status rates add up to more than 1');
    checkRate('resetRate', config.resetRate);
    checkPages('failAfterPages', config.failAfterPages);
    checkPages('truncateAfterPages', config.truncateAfterPages);
    if (config.truncateWith !== undefined && config.truncateWith !== 'empty' && config.truncateWith !== 404)
      throw new Error("truncateWith must be 'empty' or 404");
    const latency = config.latencyMs;
    if (
      Array.isArray(latency)
        ? !(latency[0] >= 0 && latency[1] >= latency[0])
        : latency !== undefined && !(latency >= 0)
    ) {
      throw new Error('latencyMs must be a number ≥ 0 or [min, max] with 0 ≤ min ≤ max');
    }
    this.config = structuredClone(config);
    this.random = prng(config.seed ?? this.defaultSeed);
    this.failed = new Set();
  }

  get(): FaultConfig {
    return structuredClone(this.config);
  }

  clear(): void {
    this.set({});
  }

  /** Network-level dice, rolled for every /v1 request before auth. */
  decide(): FaultDecision {
    const latencyMs = this.latency();
    const { resetRate = 0, status = {} } = this.config;
    if (resetRate > 0 && this.random() < resetRate) return { kind: 'reset', latencyMs };
    const statusRates = Object.entries(status).filter(([, rate]) => (rate ?? 0) > 0);
    if (statusRates.length > 0) {
      let dice = this.random();
      for (const [code, rate] of statusRates) {
        dice -= rate ?? 0;
        if (dice < 0) return { kind: 'status', latencyMs, status: Number(code) as InjectableStatus };
      }
    }
    return { kind: 'none', latencyMs };
  }

  /** Pagination faults for page `page` of chain `chain` (page 1 has no `start`). */
  page(chain: number, page: number): PageFault {
    const { failAfterPages, truncateAfterPages, truncateWith = 'empty' } = this.config;
    if (truncateAfterPages !== undefined && page > truncateAfterPages)
      return truncateWith === 404 ? 'truncate-404' : 'truncate-empty';
    if (failAfterPages !== undefined && page === failAfterPages + 1 && !this.failed.has(chain)) {
      this.failed.add(chain);
      return 'fail';
    }
    return undefined;
  }

  private latency(): number {
    const l = this.config.latencyMs;
    if (l === undefined) return 0;
    if (typeof l === 'number') return l;
    return Math.round(l[0] + this.random() * (l[1] - l[0]));
  }
}
