// Test access to modules that are not part of the public API.
export { torchWeightShape as torchWeightShapeOf } from '../../src/models/torch-modules.js';
export { writeSafetensors } from '../../src/io/safetensors.js';
export type { Autoencoder } from '../../src/models/autoencoder.js';
export { setProductEngine, type ProductEngine } from '../../src/compute/engine.js';
export { SimdKernels } from '../../src/compute/wasm-simd/simd-kernels.js';
export { convSimdTesting } from '../../src/tfjs-kernels/wasm/conv2d.js';
export { winogradTesting } from '../../src/tfjs-kernels/wasm/conv2d.js';
export { heapKernels, heapKernelsTesting, HEAP_CHUNK } from '../../src/tfjs-kernels/wasm/heap-kernels.js';
