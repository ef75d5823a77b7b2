import { defineConfig, type Options } from 'tsup';
import { pageAssetsEsbuild } from './scripts/build/page-assets.js';

// One config for every published package: ESM + CJS + .d.ts. Dependencies stay external (the build runs from the
// root, whose package.json does not list them): tfjs above all, so the application has a single tfjs registry
// (kernels and backends register into it); vega, vega-lite, OpenCV.js, usearch and LanceDB because they are large
// (native binaries, for the last two) and load on demand; webgpu (Dawn) finds its native binary beside its own files.
const external = [
  /^@tensorflow\//,
  'sharp',
  'cbir-core',
  'ndarray',
  'fflate',
  'vega',
  'vega-lite',
  '@techstark/opencv-js',
  'usearch',
  /^@lancedb\//,
  'apache-arrow',
  'fastify',
  /^@fastify\//,
  'webgpu',
];

// Source maps map to the files' paths, without embedding their text (sourcesContent): the packages' maps were 3 MB,
// most of it the source a reader can open from the repository.
const esbuildOptions: Options['esbuildOptions'] = (o) => {
  o.sourcesContent = false;
};

const configs: Options[] = [
  {
    // The task API and three subpath exports. Split into shared chunks in both formats, so that cbir-core/compute's
    // setSimdThreads reaches the same kernels as the indexes of the main entry (one module instance each).
    entry: {
      index: 'packages/core/src/index.ts',
      io: 'packages/core/src/entries/io.ts',
      extend: 'packages/core/src/entries/extend.ts',
      compute: 'packages/core/src/entries/compute.ts',
    },
    splitting: true,
    outDir: 'packages/core/dist',
    format: ['esm', 'cjs'],
    dts: { compilerOptions: { composite: false } },
    tsconfig: 'packages/core/tsconfig.json',
    sourcemap: true,
    esbuildOptions,
    clean: true,
    target: 'es2022',
    external,
  },
  {
    entry: {
      index: 'packages/node/src/index.ts',
      'workers/encoder-worker': 'packages/node/src/workers/encoder-worker.js',
      'workers/simd-worker': 'packages/node/src/workers/simd-worker.js',
      'workers/extractor-worker': 'packages/node/src/workers/extractor-worker.js',
    },
    shims: true,
    outDir: 'packages/node/dist',
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'packages/node/src/index.ts' }, compilerOptions: { composite: false, paths: {} } },
    tsconfig: 'packages/node/tsconfig.json',
    sourcemap: true,
    esbuildOptions,
    clean: true,
    target: 'node20',
    platform: 'node',
    external,
  },
  {
    // The `cbir` package: the command and its service (Fastify, Vega), over cbir-node.
    entry: { index: 'packages/cli/src/index.ts', main: 'packages/cli/src/main.ts' },
    shims: true,
    outDir: 'packages/cli/dist',
    format: ['esm', 'cjs'],
    dts: { entry: { index: 'packages/cli/src/index.ts' }, compilerOptions: { composite: false, paths: {} } },
    tsconfig: 'packages/cli/tsconfig.json',
    sourcemap: true,
    esbuildOptions,
    clean: true,
    target: 'node20',
    platform: 'node',
    external: [...external, 'cbir-node'],
    esbuildPlugins: [pageAssetsEsbuild],
  },
  {
    // The browser package: ESM only (what bundlers want), no Node built-ins, platform 'browser'.
    entry: { index: 'packages/browser/src/index.ts' },
    outDir: 'packages/browser/dist',
    format: ['esm'],
    dts: { compilerOptions: { composite: false, paths: {}, types: [] } },
    tsconfig: 'packages/browser/tsconfig.json',
    sourcemap: true,
    esbuildOptions,
    clean: true,
    target: 'es2022',
    platform: 'browser',
    external,
  },
];

// Built one package at a time (core, node, then cli) so that each package's declarations can import the ones below.
export default defineConfig((options) => {
  const only = (options.env as Record<string, string> | undefined)?.PKG;
  return only ? configs.filter((c) => c.outDir === `packages/${only}/dist`) : configs;
});
