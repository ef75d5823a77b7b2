import { suite, CPU_BACKENDS } from './vitest.shared.js';

// The integration suite (`pnpm test:integration`): the `cbir` command run as a process on generated photos, from the
// sources through vite-node (commands, files, exit codes, messages), and the slow parity checks of training.
export default suite({
  include: ['packages/*/test/**/*.integration.test.ts'],
  testTimeout: 300_000,
  hookTimeout: 300_000,
  env: CPU_BACKENDS,
});
