import { suite } from './vitest.shared.js';

// Browser end-to-end tests (`pnpm test:e2e`), in Debian's Chromium driven by playwright-core: the built demo page, and
// the page of a real `cbir serve` (the built CLI).
export default suite({ include: ['packages/*/e2e/**/*.e2e.ts'], testTimeout: 600_000, hookTimeout: 120_000 });
