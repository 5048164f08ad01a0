import type { AudienceResponse } from '../../src/admin/schemas.ts';
import { h } from '../dom.ts';
import { duration } from '../format.ts';

type Audience = AudienceResponse['audience'];

const links = (keys: string[]) =>
  keys.length === 0
    ? 'none'
    : keys.flatMap((k, i) => [i > 0 ? ', ' : '', h('a', { href: `#/audiences/${k}` }, k)]);

/** Nested lists, one item per condition node, children under their `all of`/`any of`/`not`. */
function definitionTree(lines: Audience['definition']): HTMLElement {
  const root = h('ul', { class: 'definition', 'data-field': 'definition' });
  const stack: HTMLElement[] = [root];
  let last: HTMLElement | undefined;
  for (const line of lines) {
    while (stack.length > line.depth + 1) stack.pop();
    if (stack.length < line.depth + 1 && last) {
      const nested = h('ul', {});
      last.append(nested);
      stack.push(nested);
    }
    last = h('li', {}, line.text);
    stack.at(-1)!.append(last);
  }
  return root;
}

const row = (label: string, field: string, ...value: (Node | string)[]) =>
  h('tr', {}, h('th', {}, label), h('td', { 'data-field': field }, ...value));

/** What the audience is: its settings, its definition in words, and the audiences around it. */
export function aboutAudience(a: Audience): HTMLElement {
  return h(
    'section',
    { class: 'about', id: 'about' },
    h('h2', {}, 'What this audience is'),
    h(
      'table',
      { class: 'facts' },
      h(
        'tbody',
        {},
        row('Name', 'name', a.name),
        row('Purpose', 'purpose', a.purpose),
        row('TTL', 'ttl', a.ttlMs === null ? 'none (members may stay)' : duration(a.ttlMs)),
        row('Channels', 'channels', a.channels.join(', ') || 'none'),
        row('Cordial list', 'list', a.list ?? 'not synced'),
        row('Cadence', 'cadence', a.cadenceMs === null ? 'realtime' : `every ${duration(a.cadenceMs)}`),
        row(
          'Activation delay',
          'activationDelay',
          a.activationDelayMs === 0 ? 'none' : duration(a.activationDelayMs),
        ),
        row(
          'Holdout',
          'holdout',
          a.holdoutPercent === null ? 'none' : `${a.holdoutPercent}% kept out as a control`,
        ),
        row('Depends on', 'dependencies', ...[links(a.dependencies)].flat()),
        row('Used by', 'dependents', ...[links(a.dependents)].flat()),
      ),
    ),
    h('h3', {}, 'Definition'),
    a.source !== null ? h('p', { 'data-field': 'source' }, a.source) : definitionTree(a.definition),
  );
}
