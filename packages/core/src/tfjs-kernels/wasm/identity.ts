import {
  Identity,
  type IdentityInputs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * `Identity` for the wasm backend without a copy: the output shares the input's data, counted once more, as tfjs's
 * cpu backend and the wasm backend's own `Reshape` do (tensors are immutable: an optimiser's `assign` replaces a
 * variable's data, it does not write into it). tfjs's wasm kernel copies; in a ConvAutoencoderV2 training step at
 * 128 px that was six copies of a 128 MB gradient.
 */
function identity(args: { inputs: IdentityInputs; backend: WasmHeapBackend }): TensorInfo {
  const x = args.inputs.x as TensorInfo;
  if (x.dtype === 'string') return runFallback(Identity, args as never, 'strings are copied');
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** The wasm backend's `Identity` without a copy, as a kernel config to register. */
export const wasmIdentityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as KernelFunc,
};
