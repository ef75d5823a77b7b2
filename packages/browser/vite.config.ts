import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The demo page (not published): `pnpm --filter cbir-browser demo:build` writes dist-demo/, served statically.
export default defineConfig({
  root: 'demo',
  // The demo builds cbir-core from source, like the tests (no stale dist).
  resolve: {
    alias: [
      {
        find: /^cbir-core\/(io|extend|compute)$/,
        replacement: fileURLToPath(new URL('../core/src/entries/$1.ts', import.meta.url)),
      },
      { find: /^cbir-core$/, replacement: fileURLToPath(new URL('../core/src/index.ts', import.meta.url)) },
    ],
  },
  base: './',
  build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000 },
  esbuild: { target: 'es2022' },
  optimizeDeps: { esbuildOptions: { target: 'es2022' } },
  worker: { format: 'es' },
});
