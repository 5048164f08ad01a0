/** Child content for `h`: text is always set as text, never parsed as HTML (profiles hold user data). */
export type Child = Node | string | number | null | undefined | false | Child[];

/** Creates an element with attributes and children: `h('td', { class: 'num' }, 42)`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number | boolean | undefined | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(typeof child === 'number' ? String(child) : child);
  }
}

/** A labelled figure: `<div class=card data-field=…>`. */
export const card = (label: string, value: Child, field?: string): HTMLElement =>
  h(
    'div',
    { class: 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: 'value', 'data-field': field }, value),
  );

/** A table with a header row; `num` columns are right-aligned. */
export function table(columns: (string | { label: string; num: true })[], rows: Node[]): HTMLTableElement {
  return h(
    'table',
    {},
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        columns.map((c) => (typeof c === 'string' ? h('th', {}, c) : h('th', { class: 'num' }, c.label))),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/** Replaces an element's content. */
export function fill(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
