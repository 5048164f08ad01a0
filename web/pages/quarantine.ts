import type { QuarantineResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import type { Child } from '../dom.ts';
import { card, h, table } from '../dom.ts';
import { count, when } from '../format.ts';

/** Quarantined events, as fetched for a page. */
export const fetchQuarantine = (): Promise<QuarantineResponse> =>
  api<QuarantineResponse>('/api/admin/quarantine');

/** The count, as a card: red while anything is quarantined. */
export const quarantineCard = (data: QuarantineResponse): HTMLElement => {
  const el = card('Quarantined events', count(data.items.length), 'quarantined');
  if (data.items.length > 0) el.classList.add('status-fail');
  return el;
};

/**
 * Events set aside because processing them failed every time: each with its error, and a button
 * to process them again once the cause is fixed.
 */
export function quarantineSection(data: QuarantineResponse, refresh: () => void): Child[] {
  const status = h('span', { id: 'quarantine-status', class: 'muted' });
  const retry = async (body: { all: true } | { offsets: number[] }) => {
    status.textContent = 'marking…';
    try {
      const { marked } = await api<{ marked: number }>('/api/admin/quarantine/retry', {
        method: 'POST',
        body,
      });
      status.textContent = `${marked} event(s) marked for retry`;
      setTimeout(refresh, 1500);
    } catch (error) {
      status.textContent = (error as Error).message;
      status.className = 'error';
    }
  };
  return [
    h('h2', {}, `Quarantined events (${data.items.length})`),
    h(
      'p',
      { class: 'muted' },
      'Events whose processing failed every time: they stay in the log, and later events went on without them. ' +
        'Fix the cause, then retry.',
    ),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        {
          id: 'quarantine-retry-all',
          disabled: data.items.length === 0,
          onclick: () => void retry({ all: true }),
        },
        'Retry all quarantined events',
      ),
      status,
    ),
    data.items.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : table(
          [
            { label: 'Offset', num: true },
            'Source',
            'Message id',
            'Type',
            'Error',
            'Quarantined',
            { label: 'Attempts', num: true },
            '',
          ],
          data.items.map((q) =>
            h(
              'tr',
              { class: 'quarantined', 'data-offset': q.offset },
              h('td', { class: 'num' }, q.offset),
              h('td', {}, q.sourceId),
              h('td', {}, q.messageId),
              h('td', {}, q.type),
              h('td', { class: 'error' }, `${q.error.code}: ${q.error.message}`),
              h('td', {}, when(q.quarantinedAt)),
              h('td', { class: 'num' }, q.attempts),
              h('td', {}, h('button', { onclick: () => void retry({ offsets: [q.offset] }) }, 'Retry')),
            ),
          ),
        ),
  ];
}
