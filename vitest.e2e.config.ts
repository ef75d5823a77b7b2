import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { pageAssetsVite } from './scripts/build/page-assets.js';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Browser end-to-end tests (`pnpm test:e2e`), in Debian's Chromium driven by playwright-core: the built demo page, and
// the page of a real `cbir serve` (the built CLI).
export default defineConfig({
  plugins: [pageAssetsVite()],
  resolve: { alias: { 'cbir-core': src('core'), 'cbir-node': src('node') } },
  test: { include: ['packages/*/e2e/**/*.e2e.ts'], testTimeout: 600_000, hookTimeout: 120_000, pool: 'forks' },
});
