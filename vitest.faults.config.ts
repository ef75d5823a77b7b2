import { suite } from './vitest.shared.js';

// The fault-injection suite (`pnpm test:faults`): hostile files, killed processes, a full disk. It drives the built
// CLI (packages/cli/dist), which the script builds first. One file at a time, so that each table is whole.
export default suite({
  include: ['packages/*/faults/**/*.faults.ts'],
  testTimeout: 600_000,
  hookTimeout: 300_000,
  fileParallelism: false,
});
