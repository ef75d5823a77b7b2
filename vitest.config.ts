import { suite, CPU_BACKENDS } from './vitest.shared.js';

// The unit suite (`pnpm test`): every package's tests that run in-process, a few minutes on two cores. What runs the
// `cbir` command as a process, or trains for minutes, is named *.integration.test.ts and runs in
// `pnpm test:integration` (vitest.integration.config.ts), which CI runs after this one.
export default suite({
  include: ['packages/*/test/**/*.test.ts'],
  exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
  // Both cores: vitest's default for a run is one fork fewer than the cores, one fork on this 2-core machine, and the
  // suite then took 296 s; the files are independent processes (no test measures time).
  maxWorkers: 2,
  minWorkers: 1,
  testTimeout: 120_000,
  hookTimeout: 120_000,
  env: CPU_BACKENDS,
});
