import { suite } from './vitest.shared.js';

// The webgpu suite (`pnpm test:gpu`): tfjs's WebGPU backend through Dawn on a real adapter, which the script provides
// (lavapipe, mesa 25's software Vulkan, fetched into a cache folder). Kept out of `pnpm test`, whose machines may
// have no Vulkan driver Dawn accepts. Its CLI tests drive the built CLI, which the script builds first.
export default suite({
  include: ['packages/*/gpu/**/*.gpu.ts'],
  testTimeout: 300_000,
  hookTimeout: 120_000,
  fileParallelism: false,
});
