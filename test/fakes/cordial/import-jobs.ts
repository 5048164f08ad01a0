import type { ContactStore } from './contact-store.ts';
import { normalizeKeyValue } from './contact-key.ts';
import type { Outcome } from './envelope.ts';
import { GENERIC, fail, ok } from './envelope.ts';
import type { ListStore } from './list-store.ts';
import { parseCsv } from './csv.ts';

/** How the account runs import jobs; `set` replaces the settings. */
export interface ImportSettings {
  /** Rows processed per second, account-wide: one job processes at a time, the rest wait Pending. Default 2,000. */
  rowsPerSecond?: number;
  /** A job waits Scheduled this long before its file is fetched (ms). Default 200. */
  scheduledMs?: number;
  /** A job sits Throttled this long before it processes (ms); default 0 (never Throttled). */
  throttledMs?: number;
  /** The next this many jobs fail after fetching their file (status Failed). */
  failNextJobs?: number;
  /** Identifier values (as in the file) whose rows are rejected. */
  rejectValues?: readonly string[];
}

/** Reads an import's file: the fake fetches HTTP(S) URLs itself; an S3 source needs a reader. */
export type FileReader = (source: Record<string, unknown>) => Promise<Outcome<string>>;

interface ImportJob {
  id: string;
  importName: string | undefined;
  status: 'Scheduled' | 'Pending' | 'Processing' | 'Throttled' | 'Failed' | 'Done';
  createdAt: number;
  start: number | undefined;
  end: number | undefined;
  column: string;
  values: string[];
  completed: number;
  strategy: 'insertOnly' | 'updateOnly' | undefined;
  addTo: string[];
  removeFrom: string[];
  throttledUntil: number;
  result: {
    totalRecords: number;
    updated: number;
    inserted: number;
    rejected: number;
    error: number;
    ignored: number;
  };
}

const TRANSPORTS = new Set(['HTTP', 'HTTPS', 'FTP', 'SFTP', 'S3', 'GCS', 'AZUREBLOB', 'SNOWFLAKE']);
const config = (message: string) => fail(406, GENERIC, message);

/**
 * `POST /v2/contactimports` and `GET /v2/jobs/{id}`. A job is Scheduled, fetches its file, waits
 * Pending behind the account's other jobs, may sit Throttled, then is Processing at
 * `rowsPerSecond` (rows apply as they complete) and ends Done with Cordial's result counts, or
 * Failed. Row order within the file is not relied on. A row creates a contact only without
 * `updateOnly`, and then, with no `subscribeStatus` column, the new email contact is subscribed,
 * as Cordial documents.
 */
export class ImportJobs {
  private readonly jobs = new Map<string, ImportJob>();
  private settings: ImportSettings = {};
  private seq = 0;
  private lastTick: number;
  private credit = 0;

  constructor(
    private readonly contacts: ContactStore,
    private readonly lists: ListStore,
    private readonly now: () => number,
    private readonly read: FileReader,
  ) {
    this.lastTick = now();
  }

  set(settings: ImportSettings): void {
    this.settings = { ...settings };
  }

  get(): ImportSettings {
    return { ...this.settings };
  }

  create(body: unknown): Outcome<{ jobId: string }> {
    if (typeof body !== 'object' || body === null) return config('The source.transport field is required.');
    const b = body as Record<string, unknown>;
    const source = b.source as Record<string, unknown> | undefined;
    if (typeof source?.transport !== 'string') return config('The source.transport field is required.');
    if (!TRANSPORTS.has(source.transport)) return config('The selected source.transport is invalid.');
    if (source.transport === 'S3') {
      for (const f of ['aws_bucket', 'aws_region', 'path'])
        if (typeof source[f] !== 'string')
          return config(`The source.${f.replace('_', ' ')} field is required.`);
    } else if (typeof source.url !== 'string') return config('The source.url field is required.');
    const columns = Array.isArray(b.columns) ? b.columns : undefined;
    if (b.hasHeader !== true && columns === undefined) return config('The columns field is required.');
    const strategy = b.strategy;
    if (strategy !== undefined && strategy !== 'insertOnly' && strategy !== 'updateOnly')
      return config('The selected strategy is invalid.');
    const lists = (b.lists ?? {}) as { addTo?: unknown; removeFrom?: unknown };
    const names = (v: unknown) =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
    const addTo = names(lists.addTo);
    const removeFrom = names(lists.removeFrom);
    const known = this.lists.names();
    const missing = [...addTo, ...removeFrom].find((n) => !known.has(n));
    if (missing !== undefined) return config(`List ${missing} does not exist`);
    const id = (++this.seq).toString(16).padStart(24, '0');
    const job: ImportJob = {
      id,
      importName: typeof b.importName === 'string' ? b.importName : undefined,
      status: 'Scheduled',
      createdAt: this.now(),
      start: undefined,
      end: undefined,
      column: '',
      values: [],
      completed: 0,
      strategy,
      addTo,
      removeFrom,
      throttledUntil: 0,
      result: { totalRecords: 0, updated: 0, inserted: 0, rejected: 0, error: 0, ignored: 0 },
    };
    this.jobs.set(id, job);
    setTimeout(
      () => void this.fetch(job, source, columns, b.hasHeader === true),
      this.settings.scheduledMs ?? 200,
    ).unref();
    return ok({ jobId: id });
  }

  /** The job as `GET /v2/jobs/{id}` shows it. */
  show(id: string): Outcome<Record<string, unknown>> {
    this.tick();
    const job = this.jobs.get(id);
    if (!job) return fail(404, 'RECORD_NOT_FOUND', 'record not found');
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    return ok({
      _id: job.id,
      jobName: 'ImportContacts',
      status: job.status,
      totalItems: job.values.length,
      completedItems: job.completed,
      times: { start: iso(job.start), end: iso(job.end) },
      result: job.result,
      metadata: job.importName === undefined ? {} : { importName: job.importName },
    });
  }

  /** Every job, for inspection. */
  all(): Record<string, unknown>[] {
    this.tick();
    return [...this.jobs.keys()].map((id) => (this.show(id) as { value: Record<string, unknown> }).value);
  }

  /** Whether any job has not ended. */
  busy(): boolean {
    this.tick();
    return [...this.jobs.values()].some((j) => j.status !== 'Done' && j.status !== 'Failed');
  }

  reset(): void {
    this.jobs.clear();
    this.settings = {};
  }

  /** Processes rows for the time gone by since the last look: one job at a time, oldest first. */
  tick(): void {
    const now = this.now();
    // Fractions of a row carry over, so frequent looks do not stall a slow rate.
    let budget = this.credit + ((now - this.lastTick) / 1000) * (this.settings.rowsPerSecond ?? 2_000);
    this.lastTick = now;
    this.credit = 0;
    const jobs = [...this.jobs.values()];
    for (;;) {
      // One job at a time: the one under way, else the oldest waiting.
      const job =
        jobs.find((j) => j.status === 'Processing' || j.status === 'Throttled') ??
        jobs.find((j) => j.status === 'Pending');
      if (!job) return;
      if (job.status === 'Pending') {
        job.status = 'Throttled';
        job.throttledUntil = now + (this.settings.throttledMs ?? 0);
      }
      if (job.status === 'Throttled') {
        if (now < job.throttledUntil) return;
        job.status = 'Processing';
        job.start = now;
      }
      const n = Math.min(job.values.length - job.completed, Math.floor(budget));
      for (let i = 0; i < n; i++) this.apply(job, job.values[job.completed + i]!);
      job.completed += n;
      budget -= n;
      if (job.completed < job.values.length) {
        this.credit = budget;
        return;
      }
      job.status = 'Done';
      job.end = now;
    }
  }

  private async fetch(
    job: ImportJob,
    source: Record<string, unknown>,
    columns: unknown[] | undefined,
    hasHeader: boolean,
  ): Promise<void> {
    const file = await this.read(source);
    if (!file.ok || (this.settings.failNextJobs ?? 0) > 0) {
      if (file.ok) this.settings.failNextJobs = (this.settings.failNextJobs ?? 0) - 1;
      job.status = 'Failed';
      job.end = this.now();
      job.result.error = 1;
      return;
    }
    const rows = parseCsv(file.value);
    const header = hasHeader ? (rows.shift() ?? []) : [];
    const names = (columns ?? header).map(String);
    const at = names.findIndex((c) => c === 'channels.email.address' || !c.includes('.'));
    job.column = names[at] ?? '';
    job.values = at < 0 ? [] : rows.map((r) => r[at] ?? '');
    job.result.totalRecords = job.values.length;
    this.tick();
    job.status = 'Pending';
  }

  private apply(job: ImportJob, raw: string): void {
    const key = job.column === 'channels.email.address' ? 'email' : job.column;
    const value = normalizeKeyValue(key, raw);
    const r = job.result;
    if (
      value === '' ||
      (key === 'email' && !/^[^@\s]+@[^@\s]+$/.test(value)) ||
      this.settings.rejectValues?.includes(raw)
    ) {
      r.rejected++;
      return;
    }
    let contact = this.contacts.find({ kind: 'secondary', key, value });
    if (contact && job.strategy === 'insertOnly') return void r.ignored++;
    if (!contact) {
      if (job.strategy === 'updateOnly' || key !== 'email') return void r.ignored++;
      // No subscribeStatus column: Cordial subscribes the new email contact.
      const created = this.contacts.upsert({
        channels: { email: { address: value, subscribeStatus: 'subscribed' } },
      });
      if (!created.ok) return void r.rejected++;
      contact = this.contacts.find({ kind: 'cid', cID: created.value.cID });
      r.inserted++;
    } else r.updated++;
    if (!contact) return;
    for (const name of job.addTo) this.lists.setMembership(name, contact.cID, true);
    for (const name of job.removeFrom) this.lists.setMembership(name, contact.cID, false);
  }
}

/** Reads HTTP(S) sources with fetch; other transports go to `other`, or fail as unreachable. */
export function httpFileReader(other?: FileReader): FileReader {
  return async (source) => {
    if (source.transport !== 'HTTP' && source.transport !== 'HTTPS')
      return other
        ? other(source)
        : fail(406, GENERIC, `Can't connect to the server (${String(source.transport)})`);
    try {
      const res = await fetch(String(source.url));
      if (!res.ok) return fail(406, GENERIC, `Couldn't get the size of the file (${String(source.url)})`);
      return ok(await res.text());
    } catch (error) {
      return fail(406, GENERIC, `Can't connect to the server (${(error as Error).message})`);
    }
  };
}
