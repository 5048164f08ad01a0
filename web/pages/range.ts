import { h } from '../dom.ts';

export const RANGES = ['15m', '1h', '6h', '24h', '7d'] as const;

/** Links to the same page over another range. */
export const rangePicker = (base: string, current: string): HTMLElement =>
  h(
    'div',
    { class: 'toolbar' },
    h('span', { class: 'muted' }, 'Range:'),
    RANGES.map((r) => (r === current ? h('strong', {}, r) : h('a', { href: `${base}?range=${r}` }, r))),
  );
