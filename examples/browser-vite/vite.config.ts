import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    // tfjs (core, layers and four backends) is about 2 MB minified: one chunk, loaded once and cached.
    chunkSizeWarningLimit: 4096,
  },
});
