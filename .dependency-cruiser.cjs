// The layers of docs/architecture.md, lowest first: one folder of src/ each. A production file
// may import from its own folder and the folders below it, never from a folder above, so the
// folders form no cycle. Tests (*.test.ts) sit outside the order: they may wire real adapters
// into a core, but like every file they may not take part in an import cycle.
// Keep this list and the diagram in docs/architecture.md the same.
const LAYERS = [
  ['shared kernel', 'shared'],
  ['audiences', 'audiences'],
  ['ingest', 'ingest'],
  ['identity', 'identity'],
  ['engine', 'engine'],
  ['sync', 'sync'],
  ['sources', 'sources'],
  ['monitor', 'monitor'],
  ['store', 'store'],
  ['config', 'config'],
  ['app', 'app'],
  ['http plumbing', 'http'],
  ['admin API', 'admin'],
  ['server', 'server'],
  ['cli', 'cli'],
];

const TEST = '\\.test\\.ts$';
const folder = (name) => `^src/${name}/`;

const layerRules = LAYERS.slice(0, -1).map(([name, dir], index) => ({
  name: `layer: ${name}`,
  comment: `src/${dir} may not import from a folder above it (see docs/architecture.md)`,
  severity: 'error',
  from: { path: folder(dir), pathNot: TEST },
  to: { path: LAYERS.slice(index + 1).map(([, above]) => folder(above)) },
}));

// Within the core folders, the shapes cores exchange and the ports they use sit below the rest:
// a model or port imports only other models and ports, the audience language and the kernel.
const MODELS_AND_PORTS =
  '^src/(ingest|identity|engine|sync|sources|monitor|store)/(model|ports|events|event|messages|failures)\\.ts$';

const modelsAndPorts = {
  name: 'layer: models and ports',
  comment: 'A model or port file may import only models, ports, src/audiences and src/shared (see docs/architecture.md)',
  severity: 'error',
  from: { path: MODELS_AND_PORTS },
  to: { path: '^src/', pathNot: [MODELS_AND_PORTS, folder('shared'), folder('audiences')] },
};

// The sync core reaches a destination through its Destination port, never its adapters.
const syncCore = {
  name: 'layer: sync core',
  comment: 'The sync core may not import a destination adapter (src/sync/destinations)',
  severity: 'error',
  from: { path: folder('sync'), pathNot: [TEST, folder('sync/destinations')] },
  to: { path: folder('sync/destinations') },
};

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
    modelsAndPorts,
    syncCore,
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
