import { SimdKernels } from '../../compute/wasm-simd/simd-kernels.js';

let instance: SimdKernels | undefined;

/**
 * The SIMD kernels' instance the tensor kernels (convolutions and their gradients) share: they run one at a time and
 * each lays out its buffers from scratch (`reset`), so one memory serves them all. Recreated when the threads
 * installed change. Undefined where WebAssembly SIMD is unavailable.
 */
export function tensorSimd(): SimdKernels | undefined {
  if (!instance || instance.stale) instance = SimdKernels.create();
  return instance;
}
