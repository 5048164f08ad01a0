import type { Clock } from '../shared/clock.ts';
import type { RateBudgetStore } from './ports.ts';

/**
 * How far ahead slots are claimed (ms, at least one interval): one round trip claims every slot
 * within it, so requests rarely wait for the store; a pause another process records reaches
 * requests beyond this window, and a slot that passes unused is lost to every process.
 */
const AHEAD_MS = 50;
/** Most slots one claim asks for. */
const MAX_CLAIM = 64;

export interface RateLimiterOptions {
  /** The account's budget in the store: every process sending for the account asks it. */
  budget: RateBudgetStore;
  /** The account's name in the budget (the destination's name). */
  account: string;
  /** Requests per second the account allows, in total across processes. */
  ratePerSecond: number;
  clock: Clock;
  /** The longest pause a 429 may impose (ms): a slot further ahead than this came from a clock stepped back. */
  maxPauseMs: number;
  /** A pause that could not be recorded in the store (this process still honours it). */
  onError?: (error: unknown) => void;
}

/**
 * The rate of one destination account, shared by every process and every audience through the
 * store's budget: requests go at most one per interval in total, so no sliding second holds more
 * than the rate, a restart starts where the budget stands (no fresh burst), and a 429 pauses every
 * process until its `Retry-After` has passed. This process claims the slots of the next moments
 * together, one claim at a time, and slows its own pace on a 429 (AIMD) without slowing the others.
 */
export class RateLimiter {
  private pausedUntil = 0;
  /** The rate in force here: the configured one, halved on each 429 and regained on success (AIMD). */
  private rate: number;
  /** Claims of this process, one after another: its requests never race each other for a slot. */
  private claims: Promise<unknown> = Promise.resolve();
  /** Slots claimed and not yet handed to a request (times by the clock), earliest first. */
  private slots: number[] = [];
  /** Requests waiting for a slot. */
  private wanting = 0;
  /** Pauses being written to the store: no slot is claimed before they are recorded. */
  private recording: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: RateLimiterOptions) {
    this.rate = options.ratePerSecond;
  }

  /** A request was refused for rate: send at half the pace from now on (never below 1 per 10 s). */
  slowDown(): void {
    this.rate = Math.max(0.1, this.rate / 2);
    // Slots held here were spaced at the old pace: the next ones are claimed at the new one.
    this.slots = [];
  }

  /** A request went through: regain pace gradually, up to the configured rate. */
  speedUp(): void {
    const { ratePerSecond } = this.options;
    this.rate = Math.min(ratePerSecond, this.rate + ratePerSecond / 50);
  }

  get currentRate(): number {
    return this.rate;
  }

  /** Waits (with `sleep`, whole milliseconds) until this request's slot, claimed from the shared budget. */
  async acquire(sleep: (ms: number) => Promise<void>): Promise<void> {
    const { clock } = this.options;
    for (;;) {
      this.wanting++;
      const next = this.claims.then(() => this.slot(sleep)).finally(() => this.wanting--);
      this.claims = next.catch(() => undefined);
      const slot = await next;
      const waitMs = slot - clock.now();
      if (waitMs > 0) await sleep(Math.ceil(waitMs));
      // A 429 this process saw while it slept voids the slot: it waits for the pause like the rest.
      if (clock.now() >= this.pausedUntil) return;
    }
  }

  /** The destination said wait: no request from any process until `until` (ms epoch). */
  pause(until: number): void {
    if (until <= this.pausedUntil) return;
    this.pausedUntil = until;
    this.slots = [];
    const { budget, account, onError } = this.options;
    this.recording = this.recording
      .then(() => budget.pauseUntil(account, until))
      .catch((error: unknown) => onError?.(error));
  }

  /** The destination reported how many requests remain in its window: none left waits for the reset. */
  observeRemaining(remaining: number, resetAt: number | undefined): void {
    if (remaining <= 0 && resetAt !== undefined) this.pause(resetAt);
  }

  /** Resolves when every pause this process saw is recorded for the others. */
  async recorded(): Promise<void> {
    await this.recording;
  }

  get pausedUntilMs(): number {
    return this.pausedUntil;
  }

  /** The next slot claimed and still ahead (a slot that passed unused is void), claiming more when none is left. */
  private async slot(sleep: (ms: number) => Promise<void>): Promise<number> {
    const { clock } = this.options;
    for (;;) {
      const intervalMs = this.intervalMs();
      while (this.slots.length > 0) {
        const slot = this.slots.shift()!;
        if (slot >= clock.now() - intervalMs) return slot;
      }
      await this.claim(sleep, intervalMs);
    }
  }

  /** Asks the budget until it grants slots for the requests waiting here. */
  private async claim(sleep: (ms: number) => Promise<void>, intervalMs: number): Promise<void> {
    const { budget, account, clock, maxPauseMs } = this.options;
    for (;;) {
      await this.recording;
      const now = clock.now();
      if (now < this.pausedUntil) {
        await sleep(Math.ceil(this.pausedUntil - now));
        continue;
      }
      const grant = await budget.take(account, {
        now,
        // Every slot within reach: the next requests find theirs here without a round trip.
        count: Math.min(MAX_CLAIM, Math.max(this.wanting, Math.floor(AHEAD_MS / intervalMs))),
        intervalMs,
        aheadMs: Math.max(intervalMs, AHEAD_MS),
        maxWaitMs: maxPauseMs + intervalMs,
      });
      if (grant.granted > 0) {
        for (let i = 0; i < grant.granted; i++) this.slots.push(now + grant.waitMs + i * intervalMs);
        return;
      }
      await sleep(Math.max(1, Math.ceil(grant.waitMs)));
    }
  }

  /** Spacing at the rate in force, rounded up to a microsecond so float sums never fit one request too many in a second. */
  private intervalMs(): number {
    return Math.ceil(1e6 / this.rate) / 1000;
  }
}
