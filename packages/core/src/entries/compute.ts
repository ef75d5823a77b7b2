/**
 * cbir-core/compute: where cbir's arithmetic runs, for platform packages and applications that tune it: cbir's
 * WebAssembly SIMD kernels (prepared ahead, relaxed SIMD, a thread pool), the training kernels cbir registers on
 * tfjs's wasm and webgpu backends, and the backend choice the platform packages share.
 * @packageDocumentation
 */
export {
  prepareSimdKernels,
  simdKernelsAreRelaxed,
  setSimdThreads,
  withoutSimdThreads,
  SIMD_KERNEL_NAMES,
  type SimdThreadPool,
  type SimdKernelName,
} from '../compute/wasm-simd/simd-kernels.js';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../tfjs-kernels/register-wasm-kernels.js';
export {
  registerWebGpuTrainingKernels,
  WEBGPU_TRAINING_KERNELS,
} from '../tfjs-kernels/webgpu/register-webgpu-kernels.js';
export { chooseBackend } from '../utils/choose-backend.js';
