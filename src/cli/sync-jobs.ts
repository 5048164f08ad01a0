import type { BulkJob, BulkStore } from '../sync/ports.ts';
import type { Io } from './config-path.ts';

const iso = (ms: number | undefined): string =>
  ms === undefined ? '—' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function progress(job: BulkJob): string {
  if (job.completedItems === undefined || job.totalItems === undefined) return '—';
  return `${job.completedItems} / ${job.totalItems}`;
}

function outcome(job: BulkJob): string {
  const r = job.result;
  const counts = r
    ? `${r.updated} updated, ${r.ignored} ignored, ${r.rejected} rejected, ${r.error} errors`
    : '';
  return [counts, job.message].filter((s) => s !== undefined && s !== '').join('; ') || '—';
}

/**
 * The import jobs part of `handoff sync status`: jobs in flight with their progress
 * (completedItems / totalItems as Cordial last reported), then the last ones that ended; nothing
 * when no job ever ran.
 */
export async function printJobs(store: BulkStore, destination: string, io: Io, recent = 10): Promise<void> {
  const jobs = await store.recent(destination, 200);
  if (jobs.length === 0) return;
  const active = jobs.filter((j) => j.state === 'planned' || j.state === 'running');
  const ended = jobs.filter((j) => j.state === 'done' || j.state === 'failed').slice(0, recent);
  const row = (j: BulkJob) =>
    `| ${j.id} | ${j.list} | ${j.add ? 'add' : 'remove'} | ${j.rows} | ${j.state} | ${j.status ?? '—'} | ${progress(j)} | ${j.remoteId ?? '—'} | ${iso(j.submittedAt)} | ${outcome(j)} |`;
  const header = [
    '| job | list | direction | rows | state | Cordial status | progress | Cordial job | submitted | result |',
    '|---:|---|---|---:|---|---|---:|---|---|---|',
  ];
  io.out(`\nimport jobs in flight: ${active.length}`);
  if (active.length > 0) for (const line of [...header, ...active.map(row)]) io.out(line);
  if (ended.length > 0) {
    io.out(`\nlast ${ended.length} import jobs that ended:`);
    for (const line of [...header, ...ended.map(row)]) io.out(line);
  }
}
