import { createServer } from 'node:http';
import { closeNow, latencySleeps, listenLocal } from '../local-server.ts';
import type { PageNote } from './envelope.ts';
import type { FaultConfig } from './faults.ts';
import { Faults } from './faults.ts';
import { inspectHandler } from './inspect.ts';
import type { Member, MemberInput } from './people.ts';
import { People } from './people.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import { RateLimiter } from './rate-limit.ts';
import type { RecordedRequest } from './request-log.ts';
import { RequestLog } from './request-log.ts';
import type { MembershipOptions } from './routes.ts';
import { MAX_MEMBERSHIP_LIMIT } from './routes.ts';
import type { SegmentOptions, SegmentSnapshot, SegmentView } from './segment-store.ts';
import { SegmentStore } from './segment-store.ts';
import { listener } from './server.ts';
export { sendWebhook } from './webhook.ts';
export type { WebhookDelivery, WebhookOptions } from './webhook.ts';

export type {
  FaultConfig,
  Member,
  MemberInput,
  PageNote,
  RateLimitConfig,
  RecordedRequest,
  SegmentOptions,
  SegmentSnapshot,
  SegmentView,
};
export { MAX_MEMBERSHIP_LIMIT };

/** How to start the fake; every field is optional. */
export interface FakeCustomerIoOptions {
  /** Accepted App API keys (`Authorization: Bearer <key>`). Default `['test-cio-app-key']`. */
  appApiKeys?: string[];
  /** The workspace's request budget; default 10 per second (the App API's), `false` for none. */
  rateLimit?: RateLimitConfig | false;
  /** `next` on the last membership page: `''` (default) or `'omit'`. Unverified live (notes §D.7). */
  lastPageNext?: '' | 'omit';
  /** Membership page size when `limit` is absent. Default 1000. */
  defaultLimit?: number;
  /** Whether email is a workspace identifier (then `identifiers` carry `email`). Default true. */
  emailIdentifier?: boolean;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** Clock for rate limiting, timestamps and the request log, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Seed for fault dice when `faults.set` gives none. Default 1. */
  seed?: number;
}

/** Seeding and reading segments in-process: no HTTP, not logged, not rate limited. */
export interface SegmentControls {
  /** Creates a segment (ids count from 1); members get a `cio_id` when they have none. */
  create(name: string, members?: readonly MemberInput[], options?: SegmentOptions): SegmentSnapshot;
  /** The segment and its members in `cio_id` order, or undefined. */
  get(id: number): SegmentSnapshot | undefined;
  list(): SegmentView[];
  /** Replaces the membership. Throws on an unknown segment. */
  setMembers(id: number, members: readonly MemberInput[]): Member[];
  /** Adds one person (found by cio_id, id or email, or created). Throws on an unknown segment. */
  add(id: number, member: MemberInput): Member;
  /** Removes one person; false when they were not a member. Throws on an unknown segment. */
  remove(id: number, member: MemberInput): boolean;
}

/** A running fake Customer.io App API plus the controls tests use to inspect and disturb it. */
export interface FakeCustomerIo {
  /** Origin, e.g. `http://127.0.0.1:41234`; stands in for `https://api.customer.io` (or `api-eu`). */
  url: string;
  /** `${url}/v1`, the App API base. */
  baseUrl: string;
  /** The first accepted key, and `Bearer <key>`. */
  appApiKey: string;
  authorization: string;
  segments: SegmentControls;
  faults: { set(config: FaultConfig): void; get(): FaultConfig; clear(): void };
  /** Replace (or with undefined remove) the rate limit; the budget starts full. */
  setRateLimit(config: RateLimitConfig | undefined): void;
  /** Every /v1 request so far, in arrival order (a live array; copy it to keep a snapshot). */
  readonly requests: readonly RecordedRequest[];
  /** Requests sent inside a Retry-After wait; `graceMs` skips those close behind the 429. */
  requestsInsideRetryAfter(options?: { graceMs?: number }): RecordedRequest[];
  /** The most /v1 requests that arrived within any one second (the fake's clock). */
  peakRequestsPerSecond(): number;
  /** Empties segments, people and the log, clears faults and refills the rate budget. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeCustomerIo(options: FakeCustomerIoOptions = {}): Promise<FakeCustomerIo> {
  const now = options.now ?? Date.now;
  const appApiKeys = options.appApiKeys ?? ['test-cio-app-key'];
  const appApiKey = appApiKeys[0];
  if (appApiKey === undefined) throw new Error('appApiKeys must hold at least one key');
  const defaultLimit = options.defaultLimit ?? 1000;
  if (!(Number.isInteger(defaultLimit) && defaultLimit >= 1 && defaultLimit <= MAX_MEMBERSHIP_LIMIT))
    throw new Error(`defaultLimit must be an integer from 1 to ${MAX_MEMBERSHIP_LIMIT}`);
  const membership: MembershipOptions = {
    lastPageNext: options.lastPageNext ?? '',
    defaultLimit,
    emailIdentifier: options.emailIdentifier ?? true,
  };
  const people = new People();
  const segments = new SegmentStore(people, now);
  const faults = new Faults(options.seed ?? 1);
  const log = new RequestLog();
  let rateLimit = options.rateLimit === false ? undefined : (options.rateLimit ?? { perSecond: 10 });
  let limiter = rateLimit && new RateLimiter(rateLimit, now());
  let chains = 0;
  const latency = latencySleeps();

  const setRateLimit = (config: RateLimitConfig | undefined) => {
    limiter = config && new RateLimiter(config, now());
    rateLimit = config;
  };
  const reset = () => {
    segments.reset();
    people.reset();
    log.clear();
    faults.clear();
    chains = 0;
    setRateLimit(rateLimit);
  };
  const state = () => ({
    segments: segments.list().map((s) => segments.get(s.id)),
    requests: log.entries,
    faults: faults.get(),
    rateLimit: rateLimit ?? null,
  });

  const server = createServer(
    listener({
      appApiKeys: new Set(appApiKeys),
      now,
      faults,
      limiter: () => limiter,
      state: { segments, faults, membership, nextChain: () => ++chains },
      log,
      inspect: inspectHandler({
        state,
        reset,
        setFaults: (c) => faults.set(c),
        setRateLimit,
        createSegment: (name, members, opts) => segments.create(name, members, opts),
        setMembers: (id, members) => void segments.setMembers(id, members),
      }),
      sleep: latency.sleep,
    }),
  );
  const url = await listenLocal(server, options.port);

  return {
    url,
    baseUrl: `${url}/v1`,
    appApiKey,
    authorization: `Bearer ${appApiKey}`,
    segments: {
      create: (name, members, opts) => segments.create(name, members, opts),
      get: (id) => segments.get(id),
      list: () => segments.list(),
      setMembers: (id, members) => segments.setMembers(id, members),
      add: (id, member) => segments.add(id, member),
      remove: (id, member) => segments.remove(id, member),
    },
    faults: { set: (c) => faults.set(c), get: () => faults.get(), clear: () => faults.clear() },
    setRateLimit,
    get requests() {
      return log.entries;
    },
    requestsInsideRetryAfter: (opts = {}) => log.insideRetryAfter(opts.graceMs ?? 0),
    peakRequestsPerSecond: () => log.peakRate(1000),
    reset,
    close: async () => {
      latency.wakeAll();
      await closeNow(server);
    },
  };
}
