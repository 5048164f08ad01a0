import type { SyncResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import { h, table } from '../dom.ts';
import { when } from '../format.ts';

type Item = { contact: string; list: string };

/** The last action's outcome, kept across the page's refreshes until the next action. */
export const notice = { text: '', error: false };

const say = (status: HTMLElement, text: string, error = false) => {
  notice.text = text;
  notice.error = error;
  status.textContent = text;
  status.className = error ? 'error' : 'muted';
};

/**
 * Dead letters grouped by what went wrong, in words, each group and each item with Retry and
 * Skip (resolve without sending, recorded in the sync log).
 */
export function deadLetterGroups(
  data: SyncResponse,
  status: HTMLElement,
  refresh: () => void,
): HTMLElement[] {
  const act = async (action: 'retry' | 'skip', items: Item[]) => {
    say(status, action === 'retry' ? 'queuing…' : 'skipping…');
    try {
      const result = await api<{ retried?: number; skipped?: number }>(
        `/api/admin/sync/dead-letters/${action}`,
        {
          method: 'POST',
          body: { items },
        },
      );
      say(
        status,
        action === 'retry'
          ? `${result.retried ?? 0} dead letter(s) queued again`
          : `${result.skipped ?? 0} dead letter(s) skipped: resolved without sending, recorded in the sync log`,
      );
      setTimeout(refresh, 1500);
    } catch (error) {
      say(status, (error as Error).message, true);
    }
  };
  const detail = new Map(data.deadLetters.map((d) => [`${d.contact} ${d.list}`, d]));
  const buttons = (items: Item[], what: string) => [
    h(
      'button',
      { class: 'retry', onclick: () => void act('retry', items) },
      what ? `Retry ${what}` : 'Retry',
    ),
    h('button', { class: 'skip', onclick: () => void act('skip', items) }, what ? `Skip ${what}` : 'Skip'),
  ];
  return data.deadLetterGroups.map((g, i) =>
    h(
      'section',
      { class: 'dead-letter-group', 'data-group': i, 'data-error-key': g.errorKey ?? '' },
      h(
        'h3',
        {},
        h('span', { class: 'reason' }, `${g.items.length} refused: ${g.reason}`),
        h(
          'span',
          { class: 'muted' },
          ` — ${g.status === null ? 'no response' : `HTTP ${g.status}`}${g.errorKey ? `, ${g.errorKey}` : ''}. `,
          g.retryHelps
            ? 'Retrying can help once Cordial answers again.'
            : 'Fix at the source: retrying will not help; skip once fixed.',
        ),
      ),
      h(
        'div',
        { class: 'toolbar' },
        buttons(
          g.items.map((i) => ({ contact: i.contact, list: i.list })),
          `these ${g.items.length}`,
        ),
      ),
      table(
        ['Audience', 'Contact', 'Change', 'Attempts', 'At', ''],
        g.items.map((item) => {
          const d = detail.get(`${item.contact} ${item.list}`);
          return h(
            'tr',
            { class: 'dead-letter', 'data-contact': item.contact },
            h('td', {}, h('a', { href: `#/audiences/${item.audience}` }, item.audience)),
            h('td', {}, item.contact),
            h('td', {}, d ? `${d.desired ? 'add to' : 'remove from'} ${d.list}` : item.list),
            h('td', { class: 'num' }, d?.attempts ?? ''),
            h('td', {}, d ? when(d.at) : ''),
            h('td', {}, buttons([{ contact: item.contact, list: item.list }], '')),
          );
        }),
      ),
    ),
  );
}
