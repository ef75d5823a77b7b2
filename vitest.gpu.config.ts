import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { pageAssetsVite } from './scripts/build/page-assets.js';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// The webgpu suite (`pnpm test:gpu`): tfjs's WebGPU backend through Dawn on a real adapter, which the script provides
// (lavapipe, mesa 25's software Vulkan, fetched into a cache folder). Kept out of `pnpm test`, whose machines may
// have no Vulkan driver Dawn accepts. Its CLI tests drive the built CLI, which the script builds first.
export default defineConfig({
  plugins: [pageAssetsVite()],
  resolve: { alias: { 'cbir-core': src('core'), 'cbir-node': src('node') } },
  test: {
    include: ['packages/*/gpu/**/*.gpu.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
