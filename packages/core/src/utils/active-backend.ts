import * as tf from '@tensorflow/tfjs-core';

/** Backends whose `matMul` beats a JS loop (measured: XNNPACK on wasm is ~10x the JS loop; GPUs more). */
const MATMUL_BACKENDS = new Set(['wasm', 'webgl', 'webgpu', 'tensorflow']);

/** The active tfjs backend's name, or undefined when none is registered (indexes and clustering work without one). */
export function activeBackend(): string | undefined {
  try {
    return tf.getBackend();
  } catch {
    return undefined;
  }
}

/** Whether the active backend has a `matMul` worth a round trip through tensors. */
export function hasFastMatMul(): boolean {
  return MATMUL_BACKENDS.has(activeBackend() ?? '');
}
