import type { OverlapResponse } from '../../src/admin/schemas.ts';
import { api } from '../api.ts';
import { fill, h } from '../dom.ts';
import { count } from '../format.ts';

/** A matrix of members shared by each pair of audiences; a cell links to the profiles in both. */
export async function overlapPage(root: HTMLElement): Promise<void> {
  const data = await api<OverlapResponse>('/api/admin/overlap');
  const shared = new Map<string, number>();
  for (const p of data.pairs) {
    shared.set(`${p.a} ${p.b}`, p.members);
    shared.set(`${p.b} ${p.a}`, p.members);
  }
  const keys = data.audiences.map((a) => a.key);
  fill(
    root,
    h('h1', {}, 'Overlap'),
    h(
      'p',
      { class: 'muted' },
      'Members in both audiences. The diagonal is each audience’s size; a number links to the profiles behind it.',
    ),
    h(
      'table',
      { class: 'overlap', id: 'overlap' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, ''),
          keys.map((k) => h('th', { class: 'num' }, k)),
        ),
      ),
      h(
        'tbody',
        {},
        data.audiences.map((row) =>
          h(
            'tr',
            { 'data-audience': row.key },
            h('th', {}, h('a', { href: `#/audiences/${row.key}` }, row.key)),
            keys.map((col) => {
              const n = col === row.key ? row.size : (shared.get(`${row.key} ${col}`) ?? 0);
              const href =
                col === row.key
                  ? `#/audiences/${row.key}/profiles`
                  : `#/audiences/${row.key}/profiles?alsoIn=${col}`;
              return h(
                'td',
                { class: col === row.key ? 'num diagonal' : 'num', 'data-with': col },
                n === 0 ? h('span', { class: 'muted' }, '0') : h('a', { href }, count(n)),
              );
            }),
          ),
        ),
      ),
    ),
  );
}
