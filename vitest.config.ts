import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { pageAssetsVite } from './scripts/build/page-assets.js';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  plugins: [pageAssetsVite()],
  resolve: { alias: { 'cbir-core': src('core'), 'cbir-node': src('node') } },
  test: {
    include: ['packages/*/test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
