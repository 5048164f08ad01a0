import type { Bus } from '../engine/events.ts';
import type { Clock } from '../shared/clock.ts';
import type { BulkDestination, ImportFiles, RemoteJob, SendResult } from './destination.ts';
import type { BulkJob, BulkStore } from './ports.ts';
import type { RetryPolicy } from './retry-policy.ts';
import { backoffMs } from './retry-policy.ts';

/** How large change sets go as import jobs. */
export interface BulkSettings {
  /** A list with at least this many pending changes in one direction goes as a job. Default 1,000. */
  threshold: number;
  /** Rows in one job's file at most. Default 100,000. */
  maxRows: number;
  /** Jobs running at the destination at once. Default 4. */
  maxJobs: number;
  /** How often a running job's status is read (ms). Default 5,000. */
  pollIntervalMs: number;
  /** A job still Scheduled, Pending or Throttled this long after it last moved is reported (ms). Default 1 hour. */
  stallAfterMs: number;
  /** A job with rejected rows is split into jobs of no fewer rows than this; smaller parts go one contact at a time. Default 64. */
  splitBelow: number;
}

export const DEFAULT_BULK_SETTINGS: BulkSettings = {
  threshold: 1_000,
  maxRows: 100_000,
  maxJobs: 4,
  pollIntervalMs: 5_000,
  stallAfterMs: 3_600_000,
  splitBelow: 64,
};

export interface BulkSenderOptions {
  /** The part of the store bulk jobs use: their ledger. */
  store: { bulk: BulkStore };
  destination: BulkDestination;
  files: ImportFiles;
  settings: BulkSettings;
  clock: Clock;
  policy: RetryPolicy;
  bus: Bus;
  /** The account's limiter: a 429 pauses every request. */
  pause: (until: number) => void;
  /** An unguessable name for a job's file. */
  newToken: () => string;
  /** Makes sure a list exists before an import names it (the destination's `prepareLists`). */
  prepareLists: (lists: readonly string[]) => Promise<SendResult | undefined>;
  random?: () => number;
}

const QUEUED = new Set(['Scheduled', 'Pending', 'Throttled', 'Submitted']);

/**
 * Sends large change sets of one list as import jobs. A job and its rows are written to the ledger
 * before the import is requested, and its items wait there until it settles, so later changes to
 * the same (contact, list) go after it and a restart polls the same job rather than importing
 * twice. Rows the job did not apply are found by splitting it into smaller jobs, down to
 * `splitBelow` rows, which then go one contact at a time (and are dead-lettered there with the
 * destination's reason).
 */
export class BulkSender {
  private readonly name: string;

  constructor(private readonly options: BulkSenderOptions) {
    this.name = options.destination.name;
  }

  /**
   * Items the worker sends one contact at a time between two plans: small, so a change set that
   * grows past the threshold while it is being read goes as a job, not at the account's rate.
   */
  get perContactBatch(): number {
    return Math.max(10, Math.floor(this.options.settings.threshold / 10));
  }

  /** Puts every large enough change set into planned jobs; returns how many jobs it planned. */
  async plan(): Promise<number> {
    const { store, settings, clock } = this.options;
    const now = clock.now();
    let planned = 0;
    for (const group of await store.bulk.candidates(this.name, now, settings.threshold)) {
      const jobs = Math.ceil(group.count / settings.maxRows);
      const limit = Math.ceil(group.count / jobs);
      for (let i = 0; i < jobs; i++) {
        const job = await store.bulk.plan({
          destination: this.name,
          list: group.list,
          add: group.add,
          token: this.options.newToken(),
          at: now,
          limit,
        });
        if (!job) break;
        planned++;
      }
    }
    return planned;
  }

  /** Submits planned jobs there is room for and polls running jobs that are due; returns how many it touched. */
  async step(): Promise<number> {
    const { store, settings, clock } = this.options;
    const jobs = await store.bulk.active(this.name);
    let running = jobs.filter((j) => j.state === 'running').length;
    let touched = 0;
    for (const job of jobs) {
      if (job.nextPollAt > clock.now()) continue;
      if (job.state === 'running') {
        await this.poll(job);
        touched++;
      } else if (running < settings.maxJobs) {
        if (await this.submit(job)) running++;
        touched++;
      }
    }
    return touched;
  }

  /** When `step` next has something to do, or null when no job is active. */
  async nextAt(): Promise<number | null> {
    const jobs = await this.options.store.bulk.active(this.name);
    const running = jobs.filter((j) => j.state === 'running');
    // Planned jobs wait for a free slot, which only a running job's poll can free.
    const waiting = running.length >= this.options.settings.maxJobs ? running : jobs;
    return waiting.length === 0 ? null : Math.min(...waiting.map((j) => j.nextPollAt));
  }

  private async submit(job: BulkJob): Promise<boolean> {
    const { store, destination, files, clock } = this.options;
    const prepared = await this.options.prepareLists([job.list]);
    if (prepared) {
      await this.submitFailed(job, prepared);
      return false;
    }
    const [first] = await store.bulk.contactsOf(job.id, '', 1);
    let source: Record<string, unknown>;
    try {
      source = await files.publish(job);
    } catch (error) {
      // The file could not be put where Cordial fetches it (S3 refused or was unreachable): the
      // submit is retried under the policy, and the job's rows stay held in the ledger.
      const message = `import file not published: ${(error as Error).message}`;
      await this.submitFailed(job, {
        outcome: { kind: 'retryable', reason: message },
        record: { request: `upload of job ${job.id}'s file`, status: undefined, message },
        rate: {},
      });
      return false;
    }
    const { result, jobId } = await destination.startImport({
      list: job.list,
      add: job.add,
      source,
      importName: `handoff-job-${job.id}`,
      identifier: identifierOf(first ?? 'email:'),
    });
    const now = clock.now();
    if (result.outcome.kind === 'ok' && jobId !== undefined) {
      await store.bulk.update(job.id, {
        state: 'running',
        remoteId: jobId,
        submittedAt: now,
        status: 'Submitted',
        statusSince: now,
        nextPollAt: now + this.options.settings.pollIntervalMs,
      });
      this.emit(job, 'submitted', `import job ${jobId}`);
      return true;
    }
    await this.submitFailed(job, result);
    return false;
  }

  private async submitFailed(job: BulkJob, { outcome, record }: SendResult): Promise<void> {
    const { store, clock, policy } = this.options;
    const now = clock.now();
    if (outcome.kind === 'rate_limited') {
      const until = now + Math.min(outcome.retryAfterMs, policy.maxRateLimitWaitMs);
      this.options.pause(until);
      await store.bulk.update(job.id, { nextPollAt: until, message: record.message });
      return;
    }
    const attempts = job.attempts + 1;
    if (outcome.kind === 'retryable' && attempts < policy.maxAttempts) {
      const delay = backoffMs(policy, attempts, this.options.random ?? Math.random);
      await store.bulk.update(job.id, { attempts, nextPollAt: now + delay, message: record.message });
      return;
    }
    // The destination refuses the import itself (a configuration error) or keeps failing: the rows
    // go one contact at a time, where each gets its own answer.
    await this.end(job, 'failed', `import not accepted: ${record.message}`, { perContact: true });
  }

  private async poll(job: BulkJob): Promise<void> {
    const { store, destination, clock, settings } = this.options;
    const { result, job: remote } = await destination.jobStatus(job.remoteId ?? '');
    const now = clock.now();
    const next = now + settings.pollIntervalMs;
    if (result.outcome.kind === 'not_found') {
      await this.end(job, 'failed', `job ${job.remoteId} is unknown to ${this.name}`, { perContact: false });
      return;
    }
    if (result.outcome.kind === 'rate_limited') {
      const until = now + Math.min(result.outcome.retryAfterMs, this.options.policy.maxRateLimitWaitMs);
      this.options.pause(until);
      await store.bulk.update(job.id, { nextPollAt: Math.max(until, next) });
      return;
    }
    if (!remote) {
      await store.bulk.update(job.id, { nextPollAt: next });
      return;
    }
    const moved = remote.status !== job.status;
    await store.bulk.update(job.id, {
      status: remote.status,
      ...(remote.totalItems !== undefined ? { totalItems: remote.totalItems } : {}),
      ...(remote.completedItems !== undefined ? { completedItems: remote.completedItems } : {}),
      ...(remote.result ? { result: remote.result } : {}),
      ...(moved ? { statusSince: now } : {}),
      nextPollAt: next,
    });
    if (remote.status === 'Done') await this.done({ ...job, result: remote.result }, remote);
    else if (remote.status === 'Failed')
      await this.end(job, 'failed', `job ${job.remoteId} failed`, { perContact: false });
    else if (QUEUED.has(remote.status) && !moved) {
      const since = job.statusSince ?? now;
      if (now - since > settings.stallAfterMs && !job.message?.startsWith('stalled')) {
        const message = `stalled: ${remote.status} since ${new Date(since).toISOString()}`;
        await store.bulk.update(job.id, { message });
        this.emit(job, 'stalled', message);
      }
    }
  }

  /** Rows the job did not apply: for an addition every row not updated; a removal of an unknown contact is done. */
  private async done(job: BulkJob, remote: RemoteJob): Promise<void> {
    const { store, clock, settings } = this.options;
    const r = remote.result;
    const missed = r
      ? r.rejected + r.error + (job.add ? r.ignored : 0)
      : Math.max(0, (remote.totalItems ?? job.rows) - (remote.completedItems ?? 0));
    const summary = r
      ? `${r.updated} updated, ${r.ignored} ignored, ${r.rejected} rejected, ${r.error} errors`
      : 'no result';
    if (missed === 0) {
      const n = await store.bulk.complete(
        job.id,
        clock.now(),
        `POST /contactimports (job ${job.remoteId}, ${job.add ? 'addTo' : 'removeFrom'} ${job.list})`,
        summary,
      );
      await this.finish(job, 'done', summary, n);
      return;
    }
    if (job.rows <= settings.splitBelow) {
      await this.end(job, 'done', `${summary}: rows go one contact at a time`, { perContact: true });
      return;
    }
    // Which rows missed is not reported: split so each part holds about half a missed row.
    const partSize = Math.max(settings.splitBelow, Math.ceil(job.rows / (2 * missed)));
    let parts = 0;
    let after = '';
    for (;;) {
      const contacts = await store.bulk.contactsOf(job.id, after, partSize);
      if (contacts.length === 0) break;
      after = contacts.at(-1)!;
      const child = await store.bulk.plan({
        destination: this.name,
        list: job.list,
        add: job.add,
        token: this.options.newToken(),
        at: clock.now(),
        limit: contacts.length,
        from: { job: job.id, contacts },
      });
      parts++;
      if (child && contacts.length <= settings.splitBelow)
        await this.end(child, 'done', `part of job ${job.id}: one contact at a time`, { perContact: true });
    }
    await this.finish(job, 'split', `${summary}: split into ${parts} parts`, job.rows);
  }

  private async end(
    job: BulkJob,
    state: 'done' | 'failed',
    message: string,
    { perContact }: { perContact: boolean },
  ): Promise<void> {
    const { store, clock, policy } = this.options;
    const now = clock.now();
    const delay = state === 'failed' ? backoffMs(policy, 1, this.options.random ?? Math.random) : 0;
    const n = await store.bulk.release(job.id, {
      nextAttemptAt: now + delay,
      perContact,
      countAttempt: state === 'failed',
      message,
    });
    await this.finish(job, state === 'failed' ? 'failed' : 'done', message, n);
  }

  private async finish(
    job: BulkJob,
    what: 'done' | 'split' | 'failed',
    message: string,
    rows: number,
  ): Promise<void> {
    const { store, clock, files } = this.options;
    await store.bulk.update(job.id, {
      state: what === 'failed' ? 'failed' : 'done',
      endedAt: clock.now(),
      message,
      nextPollAt: 0,
    });
    await files.remove(job);
    this.emit({ ...job, rows }, what, message);
  }

  private emit(job: BulkJob, what: 'submitted' | 'done' | 'split' | 'failed' | 'stalled', message: string) {
    this.options.bus.emit('sync.bulk', {
      destination: this.name,
      job: job.id,
      list: job.list,
      add: job.add,
      what,
      rows: job.rows,
      message,
    });
  }
}

/** `email:ann@x.com` → `email`. */
function identifierOf(contact: string): string {
  const colon = contact.indexOf(':');
  return colon === -1 ? 'email' : contact.slice(0, colon);
}
