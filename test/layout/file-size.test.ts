// No source file in src/ or bench/ (tests included) runs over 400 lines (STYLE.md): a longer
// file holds more than one idea and is split by idea.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 400;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return /\.(ts|tsx|mts|cts)$/.test(entry.name) ? [path] : [];
  });
}

const lineCount = (text: string): number =>
  text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

test(`every .ts file in src/ and bench/ has at most ${MAX_LINES} lines`, () => {
  const files = ['src', 'bench'].flatMap((dir) => sources(join(root, dir)));
  assert.ok(files.length > 100, `found only ${files.length} files: the walk is broken`);
  const long = files
    .map((path) => ({ file: relative(root, path), lines: lineCount(readFileSync(path, 'utf8')) }))
    .filter((f) => f.lines > MAX_LINES)
    .map((f) => `${f.file} (${f.lines} lines)`);
  assert.deepEqual(long, [], `split these by idea: ${long.join(', ')}`);
});

test('lines are counted as wc -l counts them, a last line without a newline included', () => {
  assert.equal(lineCount(''), 0);
  assert.equal(lineCount('a\n'), 1);
  assert.equal(lineCount('a\nb'), 2);
  assert.equal(lineCount('a\nb\n'), 2);
});
