// The import rules of the repository, checked in CI by `pnpm lint` (dependency-cruiser): no import cycle, and no
// import from a lower room into a higher one. docs/guides/architecture.md draws the same layers.
//
// Each package's rooms are listed lowest first; a room may import rooms on its own line or below, never above.
// Rooms on one line do not depend on each other by rank (cycles between them are still refused by `no-circular`).
// A room is a top-level folder of a package's src/ or one of its root files (without `.ts`).

/** @type {Record<string, string[][]>} */
const LAYERS = {
  core: [
    ['errors', 'matrix', 'progress', 'globals.d', 'webassembly.d', 'utils'],
    ['io', 'compute', 'image'],
    ['tfjs-kernels', 'data', 'decomposition'],
    ['models'],
    ['training', 'embedding', 'cluster', 'weights'],
    ['features', 'indexes', 'plots'],
    ['rerank', 'eval', 'dedup', 'filter'],
    ['retrieval'],
    ['index', 'entries'],
  ],
  node: [
    ['optional', 'relaxed-simd', 'io', 'image', 'workers'],
    ['backend', 'webgpu', 'simd-threads', 'features', 'dataset'],
    ['indexes', 'encoder-pool', 'parallel-extractor'],
    ['query', 'dedup', 'sync'],
    ['api', 'index'],
  ],
  cli: [
    ['usage', 'suggest', 'ranges', 'interrupt', 'progress-bar', 'plots', 'report'],
    ['flags', 'model-args', 'index-arg', 'rerank-arg', 'image-features', 'query-model'],
    ['serve'],
    ['commands'],
    ['main', 'index'],
  ],
};

/** Packages lowest first: a package imports only those below it (by name, through their public entry). */
const PACKAGES = [
  ['core', 'cbir-core'],
  ['node', 'cbir-node'],
  ['cli', 'cbir'],
];

const esc = (s) => s.replace(/[.]/g, '\\.');
const room = (pkg, name) => `^packages/${pkg}/src/${esc(name)}(/|\\.ts$|\\.js$)`;

const layerRules = Object.entries(LAYERS).flatMap(([pkg, layers]) =>
  layers.slice(0, -1).map((rooms, i) => ({
    name: `${pkg}-layers`,
    comment: `${pkg}: ${rooms.join(', ')} may not import the rooms above them (${layers
      .slice(i + 1)
      .flat()
      .join(', ')}); move the shared part down, or the importing code up`,
    severity: 'error',
    from: { path: rooms.map((r) => room(pkg, r)) },
    to: { path: layers.slice(i + 1).flatMap((rs) => rs.map((r) => room(pkg, r))) },
  })),
);

// With tsconfig's paths, `import ... from 'cbir-core'` resolves to packages/core/src/index.ts and
// `from 'cbir-core/io'` to packages/core/src/entries/io.ts: the files of another package that a package may import
// (its public entries), and only of a package below it.
const packageRules = PACKAGES.map(([dir], i) => ({
  name: `${dir}-package`,
  comment: `packages/${dir} imports only the packages below it (${
    PACKAGES.slice(0, i)
      .map(([, n]) => n)
      .join(', ') || 'none'
  }), by their names`,
  severity: 'error',
  from: { path: `^packages/${dir}/src/` },
  to: {
    path: ['^packages/', ...PACKAGES.slice(i + 1).map(([, n]) => `^${n}$`)],
    pathNot: [`^packages/${dir}/`, ...PACKAGES.slice(0, i).map(([d]) => `^packages/${d}/src/(index\\.ts$|entries/)`)],
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: two modules that need each other belong in one room, or their shared part below both',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    ...packageRules,
    {
      name: 'browser-package',
      comment: 'cbir-browser imports cbir-core only',
      severity: 'error',
      from: { path: '^packages/browser/src/' },
      to: {
        path: ['^packages/', '^cbir-node$', '^cbir$'],
        pathNot: ['^packages/browser/', '^packages/core/src/(index\\.ts$|entries/)'],
      },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'an import that resolves to nothing',
      severity: 'error',
      from: {},
      // The search page's assets are imported as strings (`?raw`, `?bundle`) by the build's own plugin.
      to: { couldNotResolve: true, pathNot: '\\?(raw|bundle)$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['/dist/', '/node_modules/', '\\.d\\.ts$', 'serve/page/'] },
    // Type-only imports count: a cycle through types is still a cycle a reader has to untangle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Workspace packages by name resolve to their sources (tsconfig paths), so imports across packages are seen.
    combinedDependencies: false,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
