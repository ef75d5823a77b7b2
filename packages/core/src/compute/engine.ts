import * as tf from '@tensorflow/tfjs-core';
import { SimdKernels } from './wasm-simd/simd-kernels.js';

/** Backends whose `matMul` runs on a GPU or a multi-threaded native BLAS: faster than cbir's single-thread SIMD. */
const ACCELERATED_BACKENDS = new Set(['webgl', 'webgpu', 'tensorflow']);

/**
 * Whether the active backend's tensors can be read synchronously, as the distance scans do: not webgpu outside a
 * browser (its `readSync` draws through `OffscreenCanvas`, which Node lacks), where the SIMD kernels stand in.
 */
function readsSync(backend: string): boolean {
  return backend !== 'webgpu' || typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined';
}

/** The active tfjs backend's name, or undefined when none is registered (indexes and clustering work without one). */
export function activeBackend(): string | undefined {
  try {
    return tf.getBackend();
  } catch {
    return undefined;
  }
}

/** What computes distance products: see {@link productEngine}. */
export type ProductEngine = 'matMul' | 'simd' | 'js';

let forced: ProductEngine | undefined;

/**
 * Forces {@link productEngine}'s answer (undefined: choose again), so that tests and benchmarks can run each path
 * on one machine. `'js'` also turns off the SIMD kernels' float64 loops.
 * @internal
 */
export function setProductEngine(engine?: ProductEngine): void {
  forced = engine;
}

/**
 * How distance products are computed for large work: the active backend's `matMul` on a GPU or native backend,
 * else cbir's WebAssembly SIMD kernels (measured 14-20 GMAC/s, against 12 for XNNPACK's matMul on tfjs's wasm
 * backend, which also costs an upload), else tfjs's wasm `matMul` where WebAssembly SIMD is missing, else plain JS.
 */
export function productEngine(): ProductEngine {
  if (forced && (forced !== 'simd' || SimdKernels.available)) return forced;
  const backend = activeBackend() ?? '';
  if (ACCELERATED_BACKENDS.has(backend) && readsSync(backend)) return 'matMul';
  if (SimdKernels.available) return 'simd';
  return backend === 'wasm' ? 'matMul' : 'js';
}
