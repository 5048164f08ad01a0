import type { Document, LineCounter } from 'yaml';
import { isNode } from 'yaml';

/** A path as people read it: `['steps', 1, 'add']` → `steps[1].add`. */
export function pathText(path: readonly (string | number)[]): string {
  return path
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`))
    .join('')
    .replace(/^\./, '');
}

/** The inverse: `audiences[3].condition.all[1]` → `['audiences', 3, 'condition', 'all', 1]`. */
export function pathSegments(path: string): (string | number)[] {
  return [...path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
}

/** The 1-based line and column of the deepest node on `path` that exists in the document. */
export function positionOf(
  doc: Document,
  lines: LineCounter,
  path: readonly (string | number)[],
): { line?: number; column?: number } {
  for (let depth = path.length; depth >= 0; depth--) {
    const node: unknown = doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      const pos = lines.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return {};
}
