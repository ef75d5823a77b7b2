import {
  getKernel,
  registerGradient,
  registerKernel,
  unregisterKernel,
  type KernelConfig,
} from '@tensorflow/tfjs-core';
import { FALLBACKS } from './wasm/run-kernel.js';
import { wasmConv2DBackpropFilterConfig } from './wasm/conv2d-backprop-filter.js';
import { wasmConv2DBackpropInputConfig } from './wasm/conv2d-backprop-input.js';
import { wasmConv2DConfig, wasmFusedConv2DConfig } from './wasm/conv2d.js';
import { wasmIdentityConfig } from './wasm/identity.js';
import { wasmMaxPoolGradConfig } from './wasm/max-pool-grad.js';
import { wasmPadV2Config } from './wasm/pad-v2.js';
import { reluGradConfig, wasmReluGradConfig } from './wasm/relu-grad.js';
import { wasmSliceConfig } from './wasm/slice.js';
import { wasmSumConfig } from './wasm/sum.js';

/** The kernels cbir adds to tfjs's wasm backend so that it trains the autoencoders. */
export const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  wasmConv2DConfig,
  wasmFusedConv2DConfig,
  wasmConv2DBackpropFilterConfig,
  wasmConv2DBackpropInputConfig,
  wasmMaxPoolGradConfig,
  wasmPadV2Config,
  wasmSliceConfig,
  wasmSumConfig,
  wasmIdentityConfig,
  wasmReluGradConfig,
];

/**
 * Registers {@link WASM_TRAINING_KERNELS} with tfjs, replacing any kernel of the same name for `wasm` (tfjs refuses
 * a second registration under one name). Safe to call more than once. Call it before training on the wasm backend;
 * `initNodeBackend` and `initBrowserBackend` do it for you.
 *
 * @returns The names of the kernels registered.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-wasm';
 * import { registerWasmTrainingKernels } from 'cbir-core/compute';
 * registerWasmTrainingKernels(); // ['Conv2DBackpropFilter', ...]
 * ```
 */
export function registerWasmTrainingKernels(): string[] {
  for (const config of WASM_TRAINING_KERNELS) {
    const current = getKernel(config.kernelName, config.backendName);
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current) {
      // Keep tfjs's own kernel for the cases ours leaves to it (e.g. unequal strides).
      FALLBACKS.set(config.kernelName, current);
      unregisterKernel(config.kernelName, config.backendName);
    }
    registerKernel(config);
  }
  // ReLU's gradient in one kernel where the backend has it (tfjs's formula elsewhere: the same values).
  registerGradient(reluGradConfig);
  return WASM_TRAINING_KERNELS.map((k) => k.kernelName);
}
