import type { AudienceResponse, ProfilesResponse } from '../../src/admin/schemas.ts';
import { api, token } from '../api.ts';
import { fill, h, table } from '../dom.ts';
import { count, when } from '../format.ts';

type Standing = NonNullable<ProfilesResponse['standing']>;

/** Each standing in words, as the breakdown and the profiles list name it. */
export const STANDING: Record<Standing, string> = {
  held: 'held by Cordial',
  pending: 'pending',
  no_identifier: 'no email',
  refused: 'refused (dead letter)',
  held_out: 'held out',
};

const profilesLink = (key: string, filter: Record<string, string>) =>
  `#/audiences/${key}/profiles?${new URLSearchParams(filter).toString()}`;

/** Where the members of a syncing audience stand at Cordial; each number links to its profiles. */
export function matchBreakdown(key: string, match: AudienceResponse['match']): HTMLElement | null {
  if (match === null) return null;
  const rows: [Standing, number][] = [
    ['held', match.held],
    ['pending', match.pending],
    ['no_identifier', match.noIdentifier],
    ['refused', match.refused],
    ['held_out', match.heldOut],
  ];
  return h(
    'section',
    { id: 'match' },
    h('h2', {}, `Match rate breakdown: ${match.list} (${match.destination})`),
    table(
      ['Members', { label: 'Count', num: true }],
      rows.map(([standing, n]) =>
        h(
          'tr',
          { 'data-standing': standing },
          h('td', {}, STANDING[standing]),
          h('td', { class: 'num' }, h('a', { href: profilesLink(key, { standing }) }, count(n))),
        ),
      ),
    ),
  );
}

/** Downloads the list as CSV through the admin API: a link cannot carry the token, so fetch does. */
async function download(path: string, name: string, status: HTMLElement): Promise<void> {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token.get() ?? ''}` } });
  if (!res.ok) {
    status.textContent = `download failed: ${res.status}`;
    return;
  }
  const url = URL.createObjectURL(await res.blob());
  const a = h('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The profiles behind a number: one audience's members by standing, or also in another audience. */
export async function membersPage(root: HTMLElement, key: string, query: URLSearchParams): Promise<void> {
  const filter = new URLSearchParams();
  for (const name of ['standing', 'alsoIn']) {
    const value = query.get(name);
    if (value) filter.set(name, value);
  }
  const path = `/api/admin/audiences/${encodeURIComponent(key)}/profiles`;
  const data = await api<ProfilesResponse>(`${path}?${filter.toString()}`);
  const what = [
    data.standing === null ? null : STANDING[data.standing],
    data.alsoIn === null ? null : `also in ${data.alsoIn}`,
  ]
    .filter(Boolean)
    .join(', ');
  const status = h('span', { class: 'muted', id: 'download-status' });
  filter.set('format', 'csv');
  fill(
    root,
    h('h1', {}, `${key}: ${what || 'every member'}`),
    h(
      'p',
      { class: 'muted' },
      h('a', { href: `#/audiences/${key}` }, `← ${key}`),
      ` — ${count(data.profiles.length)} profile(s).`,
    ),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'button',
        {
          id: 'download-csv',
          onclick: () => void download(`${path}?${filter.toString()}`, `${key}-profiles.csv`, status),
        },
        'Download CSV',
      ),
      status,
    ),
    table(
      ['Profile', 'Since', 'Standing'],
      data.profiles.map((p) =>
        h(
          'tr',
          { 'data-profile': p.profileId },
          h(
            'td',
            {},
            h(
              'a',
              { href: `#/profiles/${encodeURIComponent(`profile:${p.profileId}`)}` },
              p.label ?? p.profileId,
            ),
          ),
          h('td', {}, when(p.since)),
          h('td', { 'data-field': 'standing' }, p.standing === null ? '' : STANDING[p.standing]),
        ),
      ),
    ),
  );
}
