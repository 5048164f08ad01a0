import type { SyncResponse } from '../../src/admin/schemas.ts';
import { h, table } from '../dom.ts';
import { count, when } from '../format.ts';

type Job = SyncResponse['bulkJobs']['inFlight'][number];

const progress = (j: Job): string =>
  j.completedItems === null || j.totalItems === null
    ? '—'
    : `${count(j.completedItems)} / ${count(j.totalItems)}`;

const outcome = (j: Job): string =>
  [
    j.result
      ? `${count(j.result.updated)} updated, ${count(j.result.ignored)} ignored, ${count(j.result.rejected)} rejected, ${count(j.result.error)} errors`
      : '',
    j.message ?? '',
  ]
    .filter((s) => s !== '')
    .join('; ') || '—';

function jobTable(jobs: Job[]): HTMLElement {
  return table(
    [
      'Job',
      'List',
      'Direction',
      { label: 'Rows', num: true },
      'State',
      'Cordial status',
      { label: 'Progress', num: true },
      'Submitted',
      'Result',
    ],
    jobs.map((j) =>
      h(
        'tr',
        { class: 'bulk-job', 'data-job': String(j.id) },
        h('td', {}, String(j.id)),
        h('td', {}, j.list),
        h('td', {}, j.direction),
        h('td', { class: 'num' }, count(j.rows)),
        h('td', { 'data-field': 'state', class: j.state === 'failed' ? 'error' : '' }, j.state),
        h('td', { 'data-field': 'status' }, j.status ?? '—'),
        h('td', { class: 'num', 'data-field': 'progress' }, progress(j)),
        h('td', {}, when(j.submittedAt)),
        h('td', { 'data-field': 'result' }, outcome(j)),
      ),
    ),
  );
}

/** Import jobs in flight with Cordial's progress, then the last ones that ended with their result. */
export function bulkJobsSection(jobs: SyncResponse['bulkJobs']): HTMLElement[] {
  if (jobs.inFlight.length === 0 && jobs.ended.length === 0) return [];
  return [
    h('h2', {}, `Import jobs in flight (${jobs.inFlight.length})`),
    jobs.inFlight.length === 0 ? h('p', { class: 'muted' }, 'None.') : jobTable(jobs.inFlight),
    ...(jobs.ended.length === 0 ? [] : [h('h3', {}, 'Last import jobs that ended'), jobTable(jobs.ended)]),
  ];
}
