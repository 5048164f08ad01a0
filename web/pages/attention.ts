import type { AudienceSummary } from '../../src/admin/schemas.ts';
import { h } from '../dom.ts';

/**
 * What needs attention over every audience, worst first: each finding's cause and next step in
 * words, on the page (not in a tooltip), so the reader knows what to do without opening a check.
 */
export function attention(audiences: readonly AudienceSummary[]): HTMLElement {
  const items = audiences
    .flatMap((a) => a.advice.map((advice) => ({ audience: a, advice })))
    .sort(
      (x, y) =>
        (x.advice.status === 'fail' ? 0 : 1) - (y.advice.status === 'fail' ? 0 : 1) ||
        y.advice.count - x.advice.count,
    );
  if (items.length === 0)
    return h(
      'section',
      { class: 'attention', id: 'attention' },
      h('p', { class: 'muted' }, 'Nothing needs attention.'),
    );
  return h(
    'section',
    { class: 'attention', id: 'attention' },
    h('h2', {}, 'Needs attention'),
    h(
      'ul',
      {},
      items.map(({ audience, advice }) =>
        h(
          'li',
          {
            class: `advice status-${advice.status}`,
            'data-audience': audience.key,
            'data-check': advice.check,
          },
          h('span', { class: 'badge' }, advice.status),
          ' ',
          h('a', { href: `#/audiences/${audience.key}` }, audience.key),
          ': ',
          h('span', { class: 'cause' }, advice.cause),
          h('span', { class: 'next' }, ` — ${advice.next}`),
        ),
      ),
    ),
  );
}

/** One audience's findings, worst first, for its own page. */
export function audienceAttention(audience: AudienceSummary): HTMLElement | null {
  if (audience.advice.length === 0) return null;
  return h(
    'ul',
    { class: 'attention', id: 'attention' },
    audience.advice.map((advice) =>
      h(
        'li',
        { class: `advice status-${advice.status}`, 'data-check': advice.check },
        h('span', { class: 'badge' }, advice.status),
        ' ',
        h('span', { class: 'cause' }, advice.cause),
        h('span', { class: 'next' }, ` — ${advice.next}`),
      ),
    ),
  );
}
