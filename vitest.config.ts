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
    // The unit suite runs on the CPU backends: with the optional \`webgpu\` package installed (a dev dependency here),
    // the automatic order would ask Dawn for an adapter in every CLI process. The webgpu suite is \`pnpm test:gpu\`.
    env: { CBIR_BACKEND: 'tensorflow,wasm,cpu' },
  },
});
