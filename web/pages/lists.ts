import type { ProfileResponse } from '../../src/admin/schemas.ts';
import { h, table } from '../dom.ts';

const STATE: Record<string, string> = {
  pending: 'being sent',
  done: 'in step',
  dead: 'refused (dead letter)',
};

/** The Cordial lists a person is on by the sync ledger: what Cordial acknowledged, not what Handoff wants. */
export function profileLists(lists: ProfileResponse['lists']): HTMLElement {
  const on = lists.filter((l) => l.held);
  return h(
    'section',
    { id: 'lists' },
    h('h2', {}, 'Cordial lists'),
    h(
      'p',
      { class: 'muted', 'data-field': 'onLists' },
      on.length === 0
        ? 'On no Cordial list, by the sync ledger.'
        : `On ${on.length} Cordial list(s), by the sync ledger: ${on.map((l) => l.list).join(', ')}.`,
    ),
    lists.length === 0
      ? null
      : table(
          ['List', 'Audience', 'Contact', 'On the list', 'Wanted', 'Sync'],
          lists.map((l) =>
            h(
              'tr',
              { 'data-list': l.list },
              h('td', {}, l.list),
              h('td', {}, h('a', { href: `#/audiences/${l.audience}` }, l.audience)),
              h('td', {}, l.contact),
              h('td', { 'data-field': 'held' }, l.held ? 'yes' : 'no'),
              h('td', {}, l.wanted ? 'yes' : 'no'),
              h('td', {}, STATE[l.state] ?? l.state),
            ),
          ),
        ),
  );
}
