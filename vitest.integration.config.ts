import { suite, CPU_BACKENDS } from './vitest.shared.js';

// The integration suite (`pnpm test:integration`): the `cbir` command run as a process on generated photos, from the
// sources through vite-node (commands, files, exit codes, messages), and the slow parity checks of training.
export default suite({
  include: ['packages/*/test/**/*.integration.test.ts'],
  // Both cores, as the unit suite: each file spawns its own `cbir` processes in its own temporary folder, and no test
  // measures time; one fork took 1,166 s of CI's 47 minutes.
  maxWorkers: 2,
  minWorkers: 1,
  testTimeout: 300_000,
  hookTimeout: 300_000,
  env: CPU_BACKENDS,
});
