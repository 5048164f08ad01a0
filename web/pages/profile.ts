import type { ProfileResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import { fill, h, table } from '../dom.ts';
import { time, when } from '../format.ts';
import { profileLists } from './lists.ts';

type Explanation = ProfileResponse['memberships'][number]['explanation'];

const tree = (e: Explanation): HTMLElement =>
  h(
    'ul',
    { class: 'tree' },
    e.children.map((c) =>
      h('li', { class: String(c.value) }, c.text, c.children.length > 0 ? tree(c) : null),
    ),
  );

const brief = (props: Record<string, unknown>): string =>
  Object.entries(props)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');

/** One profile: identifiers, merges, memberships with the reasons, and the event timeline. */
export async function profilePage(root: HTMLElement, ref: string): Promise<void> {
  const data = await api<ProfileResponse>(`/api/admin/profiles/${encodeURIComponent(ref)}`);
  const p = data.profile;
  const inside = data.memberships.filter((m) => m.member);
  fill(
    root,
    h('h1', {}, `Profile ${p.id}`),
    h(
      'p',
      { class: 'muted' },
      `created ${time(p.createdAt)}; in ${inside.length} of ${data.memberships.length} audiences as of ${time(data.now)}`,
    ),
    h('h2', {}, 'Identifiers'),
    table(
      ['Kind', 'Value'],
      p.identifiers.map((i) =>
        h('tr', {}, h('td', {}, i.kind), h('td', { 'data-field': i.kind }, i.address ?? i.value)),
      ),
    ),
    p.merges.length === 0
      ? h('p', { class: 'muted' }, 'No merges.')
      : [
          h('h2', {}, 'Merges'),
          table(
            ['From', 'Into', 'Cause', 'At'],
            p.merges.map((m) =>
              h(
                'tr',
                {},
                h('td', {}, m.from),
                h('td', {}, m.into),
                h('td', {}, m.cause),
                h('td', {}, when(m.at)),
              ),
            ),
          ),
        ],
    profileLists(data.lists),
    h('h2', {}, 'Audiences'),
    h(
      'div',
      { id: 'memberships' },
      data.memberships.map((m) =>
        h(
          'section',
          { class: 'membership', 'data-audience': m.audience, 'data-member': String(m.member) },
          h(
            'div',
            {},
            h('span', { class: m.member ? 'in' : 'out' }, m.member ? 'IN ' : 'OUT '),
            h('a', { href: `#/audiences/${m.audience}` }, m.name),
            h(
              'span',
              { class: 'muted' },
              m.since === null
                ? ''
                : h(
                    'span',
                    { class: 'since', 'data-field': 'since' },
                    ' qualified ',
                    h('span', { 'data-field': 'qualifiedAt' }, when(m.qualifiedAt ?? m.since)),
                    ', processed ',
                    h('span', { 'data-field': 'processedAt' }, when(m.since)),
                    m.heldOut ? ' (held out: never sent)' : '',
                  ),
              m.nextChangeAt === null
                ? '; only an event can change this'
                : ['; next change at ', when(m.nextChangeAt)],
            ),
          ),
          tree(m.explanation),
        ),
      ),
    ),
    h('h2', {}, 'Membership changes'),
    data.changes.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : table(
          ['At', 'Audience', 'Change', 'Why'],
          data.changes.map((c) =>
            h(
              'tr',
              {},
              h('td', {}, when(c.at)),
              h('td', {}, c.audience),
              h('td', { class: c.change === 'enter' ? 'in' : 'out' }, c.change),
              h('td', {}, c.cause),
            ),
          ),
        ),
    h('h2', {}, 'Events (newest first)'),
    table(
      ['Time', 'Type', 'Name', 'Source', 'Properties'],
      data.events.map((e) =>
        h(
          'tr',
          { 'data-offset': e.offset },
          h('td', {}, when(e.timestamp)),
          h('td', {}, e.type),
          h('td', {}, e.name ?? ''),
          h('td', {}, e.sourceId),
          h('td', { class: 'muted' }, brief(e.properties)),
        ),
      ),
    ),
  );
}
