import type { Bus } from '../engine/events.ts';
import { parseCsv } from './csv.ts';
import type { ExportDestination, ExportFiles, SendResult } from './destination.ts';
import type { ListExport, ReadBackOptions } from './reconcile.ts';
import { backoffMs } from './retry-policy.ts';

/** How one list is read back through an export job. */
export interface ListExportOptions extends ReadBackOptions {
  destination: ExportDestination;
  files: ExportFiles;
  bus: Bus;
  /** How often the export job's status is read (ms). */
  pollIntervalMs: number;
  /** An export that has not moved (status or progress) for this long is given up (ms). */
  stallAfterMs: number;
  newToken: () => string;
  /** Export jobs tried before the list is given up as unreadable. Default 3. */
  maxJobs?: number;
}


/** Retries one request under the policy: 429s pause the account's limiter, 5xx back off and count. */
async function retried<T extends { result: SendResult }>(
  call: () => Promise<T>,
  options: ListExportOptions,
): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  const { policy, limiter, clock } = options;
  let failures = 0;
  let rateLimited = 0;
  for (;;) {
    const value = await call();
    const { outcome } = value.result;
    if (outcome.kind === 'ok') return { ok: true, value };
    if (outcome.kind === 'rate_limited') {
      limiter.slowDown();
      limiter.pause(clock.now() + Math.min(outcome.retryAfterMs, policy.maxRateLimitWaitMs));
      if (++rateLimited < 10 * policy.maxAttempts) continue;
      return { ok: false, reason: `rate limited ${rateLimited} times; last: ${outcome.reason}` };
    }
    if (outcome.kind === 'retryable' && ++failures < policy.maxAttempts) {
      await options.sleep(backoffMs(policy, failures, options.random ?? Math.random));
      continue;
    }
    return { ok: false, reason: outcome.kind === 'not_found' ? 'not found' : outcome.reason };
  }
}

/**
 * The members of `list` from the export's CSV: rows whose list column is 1. The key column is
 * found by its header (`channels.email.address` or `email` for emails, else the key's name);
 * a file in several parts repeats its header, which is skipped.
 */
export function exportedMembers(
  text: string,
  list: string,
  keyColumns: readonly string[],
): { ok: true; members: Set<string>; rows: number } | { ok: false; reason: string } {
  const rows = parseCsv(text);
  const header = rows[0];
  if (!header) return { ok: true, members: new Set(), rows: 0 };
  const key = header.findIndex((h) => keyColumns.includes(h));
  const flag = header.indexOf(list);
  if (key < 0 || flag < 0)
    return {
      ok: false,
      reason: `the export's header (${header.join(',')}) has no ${keyColumns.join(' or ')} column, or no ${list} column`,
    };
  const members = new Set<string>();
  let count = 0;
  for (const row of rows.slice(1)) {
    if (row.join(',') === header.join(',')) continue;
    count++;
    const on = (row[flag] ?? '').trim().toLowerCase();
    if (on === '1' || on === 'true') members.add((row[key] ?? '').trim());
  }
  return { ok: true, members, rows: count };
}

/**
 * Exports one list and reads its members back: the export job is polled until it is Done (a
 * Failed job, one the destination does not know or one that stalls is tried again as a new job,
 * up to `maxJobs`), then its file is read and deleted.
 */
export async function exportList(
  list: string,
  identifier: string,
  options: ListExportOptions,
): Promise<ListExport> {
  const { destination, files } = options;
  const keyColumns = identifier === 'email' ? ['channels.email.address', 'email'] : [identifier];
  const emit = (job: string, what: 'submitted' | 'done' | 'failed', rows: number, message: string) =>
    options.bus.emit('sync.bulk', { destination: destination.name, kind: 'export', job, list, add: false, what, rows, message });
  let lastReason = 'no export was tried';
  for (let attempt = 1; attempt <= (options.maxJobs ?? 3); attempt++) {
    const token = options.newToken();
    const started = await retried(
      () => destination.startExport({ list, identifier, location: files.location(token), name: `handoff-verify-${token.slice(0, 12)}` }),
      options,
    );
    if (!started.ok) return { ok: false, reason: `export not accepted: ${started.reason}` };
    const jobId = started.value.jobId ?? '';
    emit(jobId, 'submitted', 0, `export job ${jobId} of ${list}`);
    try {
      const ended = await untilEnded(jobId, options);
      if (ended !== 'Done') {
        lastReason = `export job ${jobId}: ${ended}`;
        emit(jobId, 'failed', 0, lastReason);
        continue;
      }
      const text = await files.read(token);
      if (text === undefined) {
        lastReason = `export job ${jobId} is Done but wrote no file`;
        emit(jobId, 'failed', 0, lastReason);
        continue;
      }
      const parsed = exportedMembers(text, list, keyColumns);
      if (!parsed.ok) return { ok: false, reason: parsed.reason };
      emit(jobId, 'done', parsed.rows, `${parsed.members.size} of ${parsed.rows} rows on ${list}`);
      return { ok: true, members: parsed.members, rows: parsed.rows, jobId };
    } finally {
      await files.discard(token);
    }
  }
  return { ok: false, reason: lastReason };
}

/** Polls a job until it ends: `Done`, or why it did not. */
async function untilEnded(jobId: string, options: ListExportOptions): Promise<string> {
  const { destination, clock } = options;
  let seen = '';
  let movedAt = clock.now();
  for (;;) {
    await options.sleep(options.pollIntervalMs);
    const read = await retried(() => destination.jobStatus(jobId), options);
    if (!read.ok) return read.reason === 'not found' ? 'unknown to the destination' : `status unreadable: ${read.reason}`;
    const job = read.value.job;
    if (!job) continue;
    if (job.status === 'Done') return 'Done';
    if (job.status === 'Failed') return 'Failed';
    const now = `${job.status} ${job.completedItems ?? ''}`;
    if (now !== seen) {
      seen = now;
      movedAt = clock.now();
    } else if (clock.now() - movedAt > options.stallAfterMs) return `stalled: ${job.status}`;
  }
}
