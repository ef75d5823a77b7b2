import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Browser end-to-end tests (`pnpm test:e2e`): the built demo in Debian's Chromium, driven by playwright-core.
export default defineConfig({
  resolve: { alias: { 'cbir-core': src('core'), 'cbir-node': src('node') } },
  test: { include: ['packages/browser/e2e/**/*.e2e.ts'], testTimeout: 600_000, hookTimeout: 120_000, pool: 'forks' },
});
