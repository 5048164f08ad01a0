import type { AudienceResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import { flow, lines } from '../charts.ts';
import { card, fill, h, table } from '../dom.ts';
import { ago, count, duration, percent, when } from '../format.ts';
import { aboutAudience } from './about.ts';
import { audienceAttention } from './attention.ts';
import { matchBreakdown } from './members.ts';
import { rangePicker } from './range.ts';

/** One audience: size over time, enters and exits, sync latency, holdout comparison, sample members. */
export async function audiencePage(root: HTMLElement, key: string, query: URLSearchParams): Promise<void> {
  const range = query.get('range') ?? '1h';
  const data = await api<AudienceResponse>(
    `/api/admin/audiences/${encodeURIComponent(key)}?range=${encodeURIComponent(range)}`,
  );
  const a = data.audience;
  const per = duration(data.bucketMs);
  fill(
    root,
    h('h1', {}, a.name),
    h('p', { class: 'muted' }, `${a.key} — ${a.purpose}`),
    audienceAttention(a),
    rangePicker(`#/audiences/${a.key}`, range),
    h(
      'div',
      { class: 'cards' },
      card('Members', count(a.size), 'size'),
      card('Treated', count(data.holdout.treated), 'treated'),
      card(
        `Held out${a.holdoutPercent === null ? '' : ` (${a.holdoutPercent}%)`}`,
        count(data.holdout.heldOut),
        'heldOut',
      ),
      card('Match rate', a.syncs ? percent(a.matchRate) : 'not synced', 'matchRate'),
      card(
        'Sync latency p50 / p95',
        data.latencyMs.samples === 0
          ? '—'
          : `${duration(data.latencyMs.p50)} / ${duration(data.latencyMs.p95)}`,
        'latency',
      ),
      card('Last sync', a.syncs ? ago(a.lastSyncAt, data.now) : '—', 'lastSync'),
      card('Dead letters', count(a.deadLetters), 'deadLetters'),
      card('Stuck past TTL', a.stuck === null ? '—' : count(a.stuck), 'stuck'),
      card('Drift vs 7-day mean', a.drift === null ? 'not enough history yet' : percent(a.drift), 'drift'),
    ),
    h(
      'div',
      { class: 'charts' },
      lines(
        `Size, last ${range}`,
        a.series.map((p) => p.at),
        [{ label: 'members', values: a.series.map((p) => p.size), color: '#3158d4' }],
      ),
      flow(`Enters and exits per ${per}`, data.changes),
    ),
    h(
      'p',
      { class: 'muted' },
      `In the last ${range}: ${count(data.changes.reduce((n, c) => n + c.enters, 0))} entered, ${count(data.changes.reduce((n, c) => n + c.exits, 0))} exited. ` +
        `TTL ${a.ttlMs === null ? 'none' : duration(a.ttlMs)}, activation delay ${a.activationDelayMs === 0 ? 'none' : duration(a.activationDelayMs)}.`,
    ),
    matchBreakdown(a.key, data.match),
    aboutAudience(a),
    a.checks.length === 0
      ? null
      : [
          h('h2', {}, 'Checks'),
          table(
            ['Check', 'Status', 'Finding'],
            a.checks.map((c) =>
              h(
                'tr',
                {},
                h('td', {}, c.destination ? `${c.check} (${c.destination})` : c.check),
                h('td', { class: `status-${c.status}` }, c.status),
                h('td', {}, c.message),
              ),
            ),
          ),
        ],
    h('h2', {}, `Newest members (${Math.min(data.members.length, a.size)} of ${count(a.size)})`),
    table(
      ['Profile', 'Since', 'Held out'],
      data.members.map((m) =>
        h(
          'tr',
          { 'data-profile': m.profileId },
          h(
            'td',
            {},
            h(
              'a',
              { href: `#/profiles/${encodeURIComponent(`profile:${m.profileId}`)}` },
              m.label ?? m.profileId,
            ),
          ),
          h('td', {}, when(m.since)),
          h('td', {}, m.heldOut ? 'held out: never sent' : ''),
        ),
      ),
    ),
  );
}
