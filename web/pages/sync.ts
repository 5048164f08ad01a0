import type { ClusterResponse, SyncResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import { lines } from '../charts.ts';
import { card, fill, h, table } from '../dom.ts';
import { count, when } from '../format.ts';
import { bulkJobsSection } from './bulk-jobs.ts';
import { deadLetterGroups, notice } from './dead-letters.ts';
import { fetchQuarantine, quarantineCard, quarantineSection } from './quarantine.ts';

/** Cordial sync: the queue, send rate, 429s and dead letters, with a retry button. */
export async function syncPage(root: HTMLElement, refresh: () => void): Promise<void> {
  const [data, quarantined, cluster] = await Promise.all([
    api<SyncResponse>('/api/admin/sync'),
    fetchQuarantine(),
    api<ClusterResponse>('/api/admin/cluster'),
  ]);
  const pending = data.queue.reduce((n, q) => n + q.pending, 0);
  const status = h('span', { id: 'retry-status', class: notice.error ? 'error' : 'muted' }, notice.text);
  const retry = async (body: { all: true } | { audience: string }) => {
    status.textContent = 'queuing…';
    try {
      const { queued } = await api<{ queued: number }>('/api/admin/sync/retry', { method: 'POST', body });
      status.textContent = notice.text = `${queued} dead letter(s) queued again`;
      setTimeout(refresh, 1500);
    } catch (error) {
      status.textContent = (error as Error).message;
      status.className = 'error';
    }
  };
  fill(
    root,
    h('h1', {}, 'Sync'),
    data.configured
      ? null
      : h(
          'p',
          { class: 'error' },
          'Cordial sync is not running here: no destination is configured, or its API key is not set. Changes wait in the outbox.',
        ),
    h(
      'div',
      { class: 'cards' },
      card('Pending', count(pending), 'pending'),
      card('Sent per minute (last 5m)', data.sendRatePerMinute.toFixed(1), 'sendRate'),
      card('429s (last hour)', count(data.rateLimited), 'rateLimited'),
      card('Dead letters', count(data.queue.reduce((n, q) => n + q.dead, 0)), 'deadLetters'),
      card('Next send due', when(data.nextDueAt), 'nextDueAt'),
      quarantineCard(quarantined),
    ),
    lines(
      `Items per ${data.bucketMs / 60_000} minute, last hour`,
      data.sends.map((s) => s.at),
      [
        { label: 'acknowledged', values: data.sends.map((s) => s.ok), color: '#1a7f4b' },
        { label: 'retried', values: data.sends.map((s) => s.retried), color: '#a86b00' },
        { label: '429', values: data.sends.map((s) => s.rateLimited), color: '#7a3bd4' },
        { label: 'dead', values: data.sends.map((s) => s.dead), color: '#a23b3b' },
      ],
      900,
    ),
    h('h2', {}, 'Queue'),
    table(
      [
        'Audience',
        'List',
        { label: 'In Cordial', num: true },
        { label: 'Pending', num: true },
        { label: 'Dead letters', num: true },
        { label: 'Unmatched', num: true },
      ],
      data.queue.map((q) =>
        h(
          'tr',
          { 'data-audience': q.audience },
          h('td', {}, h('a', { href: `#/audiences/${q.audience}` }, q.audience)),
          h('td', {}, q.list),
          h('td', { class: 'num', 'data-field': 'members' }, count(q.members)),
          h('td', { class: 'num', 'data-field': 'pending' }, count(q.pending)),
          h('td', { class: 'num', 'data-field': 'dead' }, count(q.dead)),
          h('td', { class: 'num', 'data-field': 'unmatched' }, count(q.unmatched)),
        ),
      ),
    ),
    bulkJobsSection(data.bulkJobs),
    h('h2', {}, `Dead letters (${data.deadLetters.length})`),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        {
          id: 'retry-all',
          disabled: data.deadLetters.length === 0,
          onclick: () => void retry({ all: true }),
        },
        'Retry all dead letters',
      ),
      status,
    ),
    data.deadLetters.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : deadLetterGroups(data, status, refresh),
    quarantineSection(quarantined, refresh),
    leasesSection(cluster),
  );
}

/** Which process runs each background job: its lease's holder, epoch and expiry. */
function leasesSection(cluster: ClusterResponse): HTMLElement[] {
  return [
    h('h2', {}, 'Background jobs'),
    cluster.leases.length === 0
      ? h('p', { class: 'muted' }, 'No job has run yet.')
      : table(
          ['Job', 'Held by', { label: 'Epoch', num: true }, 'Expires', 'State'],
          cluster.leases.map((l) =>
            h(
              'tr',
              { class: 'lease', 'data-lease': l.name },
              h('td', {}, l.name),
              h('td', { 'data-field': 'holder' }, l.holder),
              h('td', { class: 'num', 'data-field': 'epoch' }, String(l.epoch)),
              h('td', {}, when(l.expiresAt)),
              h(
                'td',
                { 'data-field': 'state', class: l.expired ? 'error' : '' },
                l.expired ? 'lapsed: not running' : 'held',
              ),
            ),
          ),
        ),
  ];
}
