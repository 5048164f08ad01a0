import { createServer } from 'node:http';
import { closeNow, latencySleeps, listenLocal } from '../local-server.ts';
import type { AccountSchema } from './contact-body.ts';
import { parseContactKey } from './contact-key.ts';
import type { ContactView } from './contact-store.ts';
import { ContactStore } from './contact-store.ts';
import type { FaultConfig } from './faults.ts';
import { Faults } from './faults.ts';
import { inspectHandler } from './inspect.ts';
import type { ListView } from './list-store.ts';
import { ListStore } from './list-store.ts';
import type { RateLimitConfig } from './rate-limit.ts';
import { RateLimiter } from './rate-limit.ts';
import type { RecordedRequest } from './request-log.ts';
import { RequestLog } from './request-log.ts';
import { listener } from './server.ts';
import type { FileReader, ImportSettings } from './import-jobs.ts';
import { ImportJobs, httpFileReader } from './import-jobs.ts';
import type { ExportSettings, ExportWriter } from './export-jobs.ts';
import { ExportJobs } from './export-jobs.ts';

export type { ContactView, ExportSettings, FaultConfig, ImportSettings, ListView, RateLimitConfig, RecordedRequest };

/** How to start the fake; every field is optional. */
export interface FakeCordialOptions {
  /** Accepted API keys (Basic auth user, blank password). Default `['test-cordial-key']`. */
  apiKeys?: string[];
  /** The account's unique contact keys. Default `['email', 'custID']`; add `channels.sms.address` for SMS. */
  secondaryKeys?: string[];
  /** Existing contact attribute keys (e.g. `first_name`); body keys and list names are checked against them. */
  contactAttributes?: string[];
  /** Account-wide request budget; none by default. */
  rateLimit?: RateLimitConfig;
  /** Accept `_` in list names (unverified on a live account). Default false. */
  allowUnderscoreInListNames?: boolean;
  /** Port on 127.0.0.1; default 0 (any free port). */
  port?: number;
  /** Clock for timestamps, rate limiting and the request log, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Seed for fault dice when `faults.set` gives none. Default 1. */
  seed?: number;
  /** How import jobs run (rows per second, queue times, failures, rejected rows). */
  imports?: ImportSettings;
  /** Reads import files of transports other than HTTP(S), e.g. S3. */
  readFile?: FileReader;
  /** How export jobs run (rows per second, queue time, failures). */
  exports?: ExportSettings;
  /** Writes `S3` exports (e.g. the S3 fake's `put`); without it an S3 export fails. */
  writeExport?: ExportWriter;
}

/** A running fake Cordial account plus the controls tests use to inspect and disturb it. */
export interface FakeCordial {
  /** Origin, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** `${url}/v2`, what a Cordial client is configured with. */
  baseUrl: string;
  /** The first accepted API key, and the `Authorization` header value for it. */
  apiKey: string;
  authorization: string;
  faults: { set(config: FaultConfig): void; get(): FaultConfig; clear(): void };
  /** Replace (or with undefined remove) the rate limit; the budget starts full. */
  setRateLimit(config: RateLimitConfig | undefined): void;
  contacts(): ContactView[];
  /** By cID, `email:jane@x.com`, `custID:42` or a bare email (not URL-encoded). */
  contact(key: string): ContactView | undefined;
  /** Emails of a list's members, sorted (members without an email are left out). Throws on an unknown list. */
  listMembers(listName: string): string[];
  /** cIDs of a list's members, sorted. Throws on an unknown list. */
  listMemberIds(listName: string): string[];
  lists(): ListView[];
  /** Import jobs: their settings (replaced by `set`), every job as `GET /v2/jobs/{id}` shows it, and whether any runs. */
  imports: { set(settings: ImportSettings): void; jobs(): Record<string, unknown>[]; busy(): boolean };
  /** Export jobs: their settings (replaced by `set`) and every job as `GET /v2/jobs/{id}` shows it. */
  exports: { set(settings: ExportSettings): void; jobs(): Record<string, unknown>[] };
  /** Every /v2 request so far, in arrival order (a live array; copy it to keep a snapshot). */
  readonly requests: readonly RecordedRequest[];
  /**
   * Requests that arrived inside a Retry-After wait a 429 had already announced. `graceMs` skips
   * arrivals within that many ms of the 429 (requests a concurrent client already had in flight).
   */
  requestsInsideRetryAfter(options?: { graceMs?: number }): RecordedRequest[];
  /** Creates a list without HTTP (not logged, not rate-limited); throws on a naming rule. Returns its id. */
  seedList(name: string, options?: { enhanced?: boolean }): number;
  /** Upserts a contact as `POST /v2/contacts` would, without HTTP; throws on a 422. Returns the cID. */
  seedContact(body: Record<string, unknown>): string;
  /** Empties contacts, lists and the request log, clears faults and refills the rate budget. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeCordial(options: FakeCordialOptions = {}): Promise<FakeCordial> {
  const now = options.now ?? Date.now;
  const apiKeys = options.apiKeys ?? ['test-cordial-key'];
  const apiKey = apiKeys[0];
  if (apiKey === undefined) throw new Error('apiKeys must hold at least one key');
  const secondaryKeys = options.secondaryKeys ?? ['email', 'custID'];
  // Custom unique keys (custID) are contact attributes too; channel keys are not.
  const attributeNames = new Set([
    ...(options.contactAttributes ?? []),
    ...secondaryKeys.filter((k) => k !== 'email' && !k.startsWith('channels.')),
  ]);
  const lists = new ListStore(() => attributeNames, options.allowUnderscoreInListNames ?? false, now);
  const schema = (): AccountSchema => ({ secondaryKeys, attributeNames, listNames: lists.names() });
  const contacts = new ContactStore(schema, lists, now);
  const imports = new ImportJobs(contacts, lists, now, httpFileReader(options.readFile));
  if (options.imports) imports.set(options.imports);
  const exports = new ExportJobs(contacts, lists, now, options.writeExport);
  if (options.exports) exports.set(options.exports);
  const faults = new Faults(options.seed ?? 1);
  const log = new RequestLog();
  let rateLimit = options.rateLimit;
  let limiter = rateLimit && new RateLimiter(rateLimit, now());
  const latency = latencySleeps();

  const members = (name: string): string[] => {
    imports.tick();
    const ids = lists.membersOf(name);
    if (!ids) throw new Error(`no list named ${JSON.stringify(name)}`);
    return ids;
  };
  const contact = (key: string): ContactView | undefined => {
    const parsed = parseContactKey(key, secondaryKeys);
    const found = parsed.ok ? contacts.read(parsed.value) : undefined;
    return found?.ok ? found.value : undefined;
  };
  const setRateLimit = (config: RateLimitConfig | undefined) => {
    limiter = config && new RateLimiter(config, now());
    rateLimit = config;
  };
  const reset = () => {
    imports.reset();
    exports.reset();
    contacts.reset();
    lists.reset();
    log.clear();
    faults.clear();
    setRateLimit(rateLimit);
  };
  const state = () => ({
    contacts: contacts.all(),
    lists: lists.all(),
    requests: log.entries,
    faults: faults.get(),
  });

  const server = createServer(
    listener({
      apiKeys: new Set(apiKeys),
      now,
      faults,
      limiter: () => limiter,
      state: { contacts, lists, secondaryKeys, imports, exports },
      log,
      inspect: inspectHandler({ state, reset, setFaults: (c) => faults.set(c), setRateLimit }),
      sleep: latency.sleep,
    }),
  );
  const url = await listenLocal(server, options.port);

  return {
    url,
    baseUrl: `${url}/v2`,
    apiKey,
    authorization: `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`,
    faults: { set: (c) => faults.set(c), get: () => faults.get(), clear: () => faults.clear() },
    setRateLimit,
    contacts: () => (imports.tick(), contacts.all()),
    contact: (key) => (imports.tick(), contact(key)),
    listMembers: (name) => {
      const emails = members(name).map((cID) => contacts.find({ kind: 'cid', cID })?.channels.email?.address);
      return emails.filter((e) => e !== undefined).sort();
    },
    listMemberIds: (name) => [...members(name)].sort(),
    lists: () => (imports.tick(), lists.all()),
    imports: {
      set: (settings) => imports.set(settings),
      jobs: () => imports.all(),
      busy: () => imports.busy(),
    },
    exports: { set: (settings) => exports.set(settings), jobs: () => exports.all() },
    get requests() {
      return log.entries;
    },
    requestsInsideRetryAfter: (opts = {}) => log.insideRetryAfter(opts.graceMs ?? 0),
    seedList: (name, opts = {}) => {
      const created = lists.create({ name, ...opts });
      if (!created.ok) throw new Error(`seedList(${JSON.stringify(name)}): ${created.error.message}`);
      return created.value.id;
    },
    seedContact: (body) => {
      const result = contacts.upsert(body);
      if (!result.ok) throw new Error(`seedContact: ${result.error.message}`);
      return result.value.cID;
    },
    reset,
    close: async () => {
      latency.wakeAll();
      await closeNow(server);
    },
  };
}
