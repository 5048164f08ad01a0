import type { ContactStore } from './contact-store.ts';
import type { Outcome } from './envelope.ts';
import { fail, ok } from './envelope.ts';
import type { ListStore } from './list-store.ts';

/** How the account runs export jobs; `set` replaces the settings. */
export interface ExportSettings {
  /** Rows exported per second. Default 5,000. */
  rowsPerSecond?: number;
  /** A job waits Scheduled this long before it starts (ms). Default 200. */
  scheduledMs?: number;
  /** The next this many export jobs end Failed without writing a file. */
  failNextJobs?: number;
}

/** Where an `S3` export is written: the bucket must exist (false when it does not). */
export type ExportWriter = (bucket: string, key: string, body: string) => boolean;

interface ExportJob {
  id: string;
  name: string;
  status: 'Scheduled' | 'Processing' | 'Failed' | 'Done';
  createdAt: number;
  start: number | undefined;
  end: number | undefined;
  destination: Record<string, unknown>;
  fields: string[];
  lists: string[];
  /** The rows, taken when the job starts processing. */
  rows: string[][];
  fileName: string | undefined;
}

const bad = (message: string) => fail(400, 'GENERIC_ERROR_KEY', message);
const DESTINATIONS = new Set(['AWS', 'FTP', 'SFTP', 'S3', 'GCS', 'AZUREBLOB']);

/** An attribute as a CSV cell: scalars as text, objects as JSON, absent as empty. */
const scalar = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'number' || typeof v === 'boolean'
      ? `${v}`
      : v == null
        ? ''
        : JSON.stringify(v);

const csvField = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

/**
 * `POST /v2/contactexports` (200 `{jobId}`) and its jobs at `GET /v2/jobs/{id}` (jobName
 * `ExportContacts`): Scheduled for `scheduledMs`, Processing at `rowsPerSecond` over the contacts
 * on any of the listed lists (taken when it starts), then Done with the CSV written to the S3
 * destination's `path/<name>.csv`: the fields' columns, then one column per list, 1 on it and 0
 * off it. A Failed job writes nothing; so does a bucket that does not exist (the job fails).
 */
export class ExportJobs {
  private readonly jobs = new Map<string, ExportJob>();
  private settings: ExportSettings = {};
  private seq = 0;

  constructor(
    private readonly contacts: ContactStore,
    private readonly lists: ListStore,
    private readonly now: () => number,
    private readonly write: ExportWriter | undefined,
  ) {}

  set(settings: ExportSettings): void {
    this.settings = { ...settings };
  }

  create(body: unknown): Outcome<{ jobId: string }> {
    if (typeof body !== 'object' || body === null) return bad('The destination field is required.');
    const b = body as Record<string, unknown>;
    const destination = b.destination as Record<string, unknown> | undefined;
    if (typeof destination?.type !== 'string') return bad('The destination.type field is required.');
    if (!DESTINATIONS.has(destination.type)) return bad('The selected destination.type is invalid.');
    if (destination.type === 'S3')
      for (const f of ['aws_bucket', 'aws_region', 'path'])
        if (typeof destination[f] !== 'string') return bad(`The destination.${f} field is required.`);
    if (!Array.isArray(b.fields) || b.fields.length === 0) return bad('The fields field is required.');
    if (typeof b.accountId !== 'number') return bad('The accountId field is required.');
    if (b.exportType !== undefined && b.exportType !== 'CSV')
      return bad('this fake exports CSV only (exportType CSV)');
    const lists = Array.isArray(b.lists) ? b.lists.map(String) : [];
    const known = this.lists.names();
    const missing = lists.find((n) => !known.has(n));
    if (missing !== undefined) return bad(`List ${missing} does not exist`);
    // Ids after the import jobs' range, so one `GET /jobs/{id}` table holds both.
    const id = (0x800000 + ++this.seq).toString(16).padStart(24, '0');
    this.jobs.set(id, {
      id,
      name: typeof b.name === 'string' ? b.name : `export-${id}`,
      status: 'Scheduled',
      createdAt: this.now(),
      start: undefined,
      end: undefined,
      destination,
      fields: b.fields.map(String),
      lists,
      rows: [],
      fileName: undefined,
    });
    return ok({ jobId: id });
  }

  show(id: string): Outcome<Record<string, unknown>> | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.advance(job);
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    const processing = job.status === 'Processing' && job.start !== undefined;
    const completed = processing ? this.completed(job) : job.status === 'Done' ? job.rows.length : 0;
    return ok({
      _id: job.id,
      jobName: 'ExportContacts',
      status: job.status,
      totalItems: job.rows.length,
      completedItems: completed,
      times: { start: iso(job.start), end: iso(job.end) },
      metadata: {
        name: job.name,
        exportType: 'CSV',
        lists: job.lists,
        ...(job.fileName ? { fileName: job.fileName } : {}),
      },
    });
  }

  all(): Record<string, unknown>[] {
    return [...this.jobs.keys()].map((id) => (this.show(id) as { value: Record<string, unknown> }).value);
  }

  reset(): void {
    this.jobs.clear();
    this.settings = {};
  }

  private completed(job: ExportJob): number {
    const rate = this.settings.rowsPerSecond ?? 5_000;
    return Math.min(job.rows.length, Math.floor(((this.now() - (job.start ?? 0)) / 1000) * rate));
  }

  private advance(job: ExportJob): void {
    const now = this.now();
    if (job.status === 'Scheduled' && now >= job.createdAt + (this.settings.scheduledMs ?? 200)) {
      job.status = 'Processing';
      job.start = now;
      job.rows = this.snapshot(job);
    }
    if (job.status === 'Processing' && this.completed(job) >= job.rows.length) {
      job.end = now;
      if ((this.settings.failNextJobs ?? 0) > 0) {
        this.settings.failNextJobs = (this.settings.failNextJobs ?? 0) - 1;
        job.status = 'Failed';
        return;
      }
      job.status = this.deliver(job) ? 'Done' : 'Failed';
    }
  }

  private snapshot(job: ExportJob): string[][] {
    const memberships = job.lists.map((name) => new Set(this.lists.membersOf(name) ?? []));
    const ids = new Set(memberships.flatMap((m) => [...m]));
    const rows: string[][] = [];
    for (const cID of ids) {
      const contact = this.contacts.find({ kind: 'cid', cID });
      if (!contact) continue;
      const fields = job.fields.map((f) =>
        f === 'channels.email.address' || f === 'email'
          ? (contact.channels.email?.address ?? '')
          : scalar(contact.attributes[f]),
      );
      rows.push([...fields, ...memberships.map((m) => (m.has(cID) ? '1' : '0'))]);
    }
    return rows;
  }

  private deliver(job: ExportJob): boolean {
    const d = job.destination;
    if (d.type === 'AWS') return true; // downloaded from Cordial's UI: nothing is written anywhere
    if (d.type !== 'S3' || !this.write) return false;
    const lines = [[...job.fields, ...job.lists], ...job.rows].map((r) => r.map(csvField).join(','));
    const key = `${String(d.path).replace(/\/+$/, '')}/${job.name}.csv`;
    job.fileName = `${job.name}.csv`;
    return this.write(String(d.aws_bucket), key, `${lines.join('\n')}\n`);
  }
}
