import type { AudiencesResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import { sparkline } from '../charts.ts';
import { fill, h, table } from '../dom.ts';
import { ago, count, percent } from '../format.ts';
import { attention } from './attention.ts';
import { rangePicker } from './range.ts';
import { fetchQuarantine } from './quarantine.ts';

/** Every audience: size, a sparkline over the range, match rate, last sync and errors. */
export async function audiencesPage(root: HTMLElement, query: URLSearchParams): Promise<void> {
  const range = query.get('range') ?? '1h';
  const data = await api<AudiencesResponse>(`/api/admin/audiences?range=${encodeURIComponent(range)}`);
  const total = data.audiences.reduce((n, a) => n + a.size, 0);
  const quarantined = (await fetchQuarantine()).items.length;
  fill(
    root,
    h('h1', {}, 'Audiences'),
    h(
      'p',
      { class: 'muted' },
      `${data.audiences.length} audiences, ${count(total)} memberships. Updated ${ago(data.now, Date.now())}.`,
    ),
    quarantined === 0
      ? null
      : h(
          'p',
          { class: 'error', 'data-field': 'quarantined' },
          `${count(quarantined)} event(s) quarantined: processing them failed, so their effects are missing. `,
          h('a', { href: '#/sync' }, 'See them on the Sync page'),
          '.',
        ),
    attention(data.audiences),
    rangePicker('#/audiences', range),
    table(
      [
        'Audience',
        { label: 'Size', num: true },
        { label: 'Held out', num: true },
        `Size, last ${range}`,
        { label: 'Match rate', num: true },
        'Last sync',
        { label: 'Pending', num: true },
        { label: 'Dead letters', num: true },
        'Health',
      ],
      data.audiences.map((a) =>
        h(
          'tr',
          { 'data-audience': a.key },
          h('td', {}, h('a', { href: `#/audiences/${a.key}` }, a.name), h('div', { class: 'muted' }, a.key)),
          h('td', { class: 'num', 'data-field': 'size' }, count(a.size)),
          h('td', { class: 'num', 'data-field': 'heldOut' }, count(a.heldOut)),
          h('td', {}, sparkline(a.series)),
          h('td', { class: 'num', 'data-field': 'matchRate' }, a.syncs ? percent(a.matchRate) : 'not synced'),
          h('td', { 'data-field': 'lastSync' }, a.syncs ? ago(a.lastSyncAt, data.now) : '—'),
          h('td', { class: 'num', 'data-field': 'pending' }, count(a.pending)),
          h(
            'td',
            { class: a.deadLetters > 0 ? 'num error' : 'num', 'data-field': 'deadLetters' },
            count(a.deadLetters),
          ),
          h(
            'td',
            {
              class: `status-${a.status}`,
              'data-field': 'status',
              title:
                a.checks
                  .filter((c) => c.status !== 'pass')
                  .map((c) => c.message)
                  .join('\n') || undefined,
            },
            a.status,
          ),
        ),
      ),
    ),
  );
}
