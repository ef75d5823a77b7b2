import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { pageAssetsVite } from './scripts/build/page-assets.js';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// The fault-injection suite (`pnpm test:faults`): hostile files, killed processes, a full disk. It drives the built
// CLI (packages/node/dist), which the script builds first. One file, run on its own, so that its table is whole.
export default defineConfig({
  plugins: [pageAssetsVite()],
  resolve: { alias: { 'cbir-core': src('core'), 'cbir-node': src('node') } },
  test: {
    include: ['packages/*/faults/**/*.faults.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
