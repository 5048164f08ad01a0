// The layer rules of .dependency-cruiser.cjs (docs/architecture.md), run as `npm run lint` runs
// them, on small trees written to a temporary directory: a back-edge and a cycle fail the lint,
// an import that runs the right way passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface Cruise {
  status: number | null;
  output: string;
}

function cruise(files: Record<string, string>): Cruise {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-layers-'));
  try {
    const tsconfig = { compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true }, include: ['src'] };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const run = spawnSync(
      process.execPath,
      [join(root, 'scripts/depcruise.mjs'), '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err', 'src'],
      { cwd: dir, encoding: 'utf8', timeout: 120_000 },
    );
    // CI=true makes the reporter colour its output; the assertions read the text.
    return { status: run.status, output: stripVTControlCharacters(`${run.stdout}${run.stderr}`) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const app = { 'src/app/app.ts': "export interface App { name: string }\nexport const createApp = (): App => ({ name: 'x' });\n" };

test('the engine importing the composition root fails the lint, even for a type', () => {
  const result = cruise({
    ...app,
    'src/engine/processor.ts': "import type { App } from '../app/app.ts';\nexport const name = (app: App): string => app.name;\n",
  });
  assert.notEqual(result.status, 0, result.output);
  assert.match(result.output, /layer: engine: src\/engine\/processor\.ts → src\/app\/app\.ts/);
});

test('a port importing an adapter fails the lint', () => {
  const result = cruise({
    'src/store/sqlite/index.ts': 'export const open = (): number => 1;\n',
    'src/store/ports.ts': "import { open } from './sqlite/index.ts';\nexport const opened = open();\n",
  });
  assert.notEqual(result.status, 0, result.output);
  assert.match(result.output, /layer: models and ports: src\/store\/ports\.ts → src\/store\/sqlite\/index\.ts/);
});

test('a folder importing a folder above it fails the lint, though no file cycle forms', () => {
  const result = cruise({
    'src/engine/events.ts': 'export interface HandoffEvents { started: number }\n',
    'src/ingest/service.ts': "import type { HandoffEvents } from '../engine/events.ts';\nexport const started = (e: HandoffEvents): number => e.started;\n",
  });
  assert.notEqual(result.status, 0, result.output);
  assert.match(result.output, /layer: ingest: src\/ingest\/service\.ts → src\/engine\/events\.ts/);
  assert.doesNotMatch(result.output, /no-circular/);
});

test('a core importing the Store composition fails the lint: cores use their own ports', () => {
  const result = cruise({
    'src/store/ports.ts': 'export interface Store { close(): Promise<void> }\n',
    'src/sync/worker.ts': "import type { Store } from '../store/ports.ts';\nexport const stop = (store: Store): Promise<void> => store.close();\n",
  });
  assert.notEqual(result.status, 0, result.output);
  assert.match(result.output, /layer: sync: src\/sync\/worker\.ts → src\/store\/ports\.ts/);
});

test('a cycle through type-only imports fails the lint', () => {
  const result = cruise({
    'src/engine/a.ts': "import type { B } from './b.ts';\nexport interface A { b?: B }\n",
    'src/engine/b.ts': "import type { A } from './a.ts';\nexport interface B { a?: A }\n",
  });
  assert.notEqual(result.status, 0, result.output);
  assert.match(result.output, /no-circular/);
});

test('imports that run down the layers pass, and a test may wire an adapter into a core', () => {
  const result = cruise({
    ...app,
    'src/shared/clock.ts': 'export const now = (): number => 0;\n',
    'src/engine/processor.ts': "import { now } from '../shared/clock.ts';\nexport const started = now();\n",
    'src/app/run.ts': "import { started } from '../engine/processor.ts';\nimport { createApp } from './app.ts';\nexport const run = (): string => `${createApp().name}${started}`;\n",
    'src/engine/processor.test.ts': "import { createApp } from '../app/app.ts';\nexport const app = createApp();\n",
  });
  assert.equal(result.status, 0, result.output);
  assert.match(result.output, /no dependency violations found \(5 modules/);
});
