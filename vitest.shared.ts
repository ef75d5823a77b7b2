import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig, type UserConfig } from 'vitest/config';
import { pageAssetsVite } from './scripts/build/page-assets.js';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));
const entry = (name: string) => fileURLToPath(new URL(`./packages/core/src/entries/${name}.ts`, import.meta.url));

/**
 * What every test suite shares: the workspace packages resolved to their sources, the search page's assets (`?raw`,
 * `?bundle`), and one process per file (tfjs's registry and the wasm backend are per process). Each suite's config
 * adds its files and timeouts: `vitest.config.ts` (unit), `vitest.integration.config.ts`, `vitest.faults.config.ts`,
 * `vitest.e2e.config.ts`, `vitest.gpu.config.ts`.
 */
export function suite(test: NonNullable<UserConfig['test']>): UserConfig {
  return mergeConfig(
    defineConfig({
      plugins: [pageAssetsVite()],
      resolve: {
        // Exact names: cbir-core's subpath exports (cbir-core/io, /extend, /compute) are files of their own.
        alias: [
          ...['io', 'extend', 'compute'].map((name) => ({ find: `cbir-core/${name}`, replacement: entry(name) })),
          { find: /^cbir-core$/, replacement: src('core') },
          { find: /^cbir-node$/, replacement: src('node') },
          { find: /^cbir$/, replacement: src('cli') },
        ],
      },
      test: { pool: 'forks' },
    }),
    defineConfig({ test }),
  );
}

/**
 * The unit and integration suites run on the CPU backends: with the optional `webgpu` package installed (a dev
 * dependency here), the automatic order would ask Dawn for an adapter in every CLI process. The webgpu suite is
 * `pnpm test:gpu`.
 */
export const CPU_BACKENDS = { CBIR_BACKEND: 'tensorflow,wasm,cpu' };
