import {
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type SumAttrs,
  type SumInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * `Sum` over leading axes for the wasm backend: column sums in one pass, accumulated in float64. tfjs's wasm kernel
 * transposes the reduced axes to the end first, which for a bias gradient (`[n, h, w, c]` summed to `[c]`) copies the
 * whole gradient. Other reductions go to tfjs's kernel.
 */
function sum(args: { inputs: SumInputs; backend: WasmHeapBackend; attrs: SumAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const axes = util.parseAxisParam(attrs.axis, x.shape).sort((a, b) => a - b);
  const rank = x.shape.length;
  const leading = axes.every((a, i) => a === i) && axes.length < rank;
  if (x.dtype !== 'float32' || !leading || axes.length === 0)
    return runFallback(Sum, args as never, 'only float32 sums over leading axes are supported');
  const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
  const inner = x.shape.slice(axes.length);
  const cols = util.sizeFromShape(inner);
  const shape = attrs.keepDims ? [...axes.map(() => 1), ...inner] : inner;
  const acc = new Float64Array(cols);
  const src = backend.typedArrayFromHeap(x);
  for (let r = 0, p = 0; r < rows; r++) for (let c = 0; c < cols; c++) acc[c] += src[p++];
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).set(acc);
  return out;
}

/** The wasm backend's `Sum` over leading axes, as a kernel config to register. */
export const wasmSumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: sum as unknown as KernelFunc,
};
