// The layers of docs/architecture.md, lowest first. A production file may
// import from its own layer and the layers below it, never from a layer above.
// Tests (*.test.ts) sit outside the order: they may wire real adapters into a
// core, but like every file they may not take part in an import cycle.
// Keep this list and the diagram in docs/architecture.md the same.
const LAYERS = [
  ['shared kernel', '^src/shared/'],
  ['audiences', '^src/audiences/'],
  ['models and ports', '^src/(identity|engine|sync|monitor|sources|store)/(model|ports|failures|events)\\.ts$|^src/ingest/(event|messages)\\.ts$'],
  ['identity', '^src/identity/'],
  ['ingest', '^src/ingest/'],
  ['engine', '^src/engine/'],
  ['sync core', '^src/sync/'],
  ['monitor', '^src/monitor/'],
  ['adapters', '^src/(store|sources|config)/|^src/sync/destinations/'],
  ['app', '^src/app/'],
  ['http plumbing', '^src/http/'],
  ['admin API', '^src/admin/'],
  ['server', '^src/server/'],
  ['cli', '^src/cli/'],
];

const TEST = '\\.test\\.ts$';

// A file belongs to the first layer whose pattern it matches.
const owns = (index) => ({
  path: LAYERS[index][1],
  pathNot: [TEST, ...LAYERS.slice(0, index).map(([, pattern]) => pattern)],
});

const layerRules = LAYERS.slice(0, -1).map(([name], index) => ({
  name: `layer: ${name}`,
  comment: `${name} may not import from a layer above it (see docs/architecture.md)`,
  severity: 'error',
  from: owns(index),
  to: { path: LAYERS.slice(index + 1).map(([, pattern]) => pattern), pathNot: LAYERS.slice(0, index + 1).map(([, pattern]) => pattern) },
}));

module.exports = {

  forbidden: [
    {
      name: 'no-circular',
      comment: 'No file may reach itself through its imports, type-only imports included.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'bench-is-a-leaf',
      comment: 'Production code does not import the benchmarks.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^bench/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|web|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.mjs'] },
    cache: false,
  },
};
