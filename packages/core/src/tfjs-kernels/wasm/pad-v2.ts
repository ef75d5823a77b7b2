import {
  PadV2,
  util,
  type KernelConfig,
  type KernelFunc,
  type PadV2Attrs,
  type PadV2Inputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * `PadV2` (constant padding) for the wasm backend as block copies on the wasm heap: each row of the input (its
 * trailing unpadded axes together) is copied to its place with `TypedArray.set`, and the gaps between rows are filled
 * with the constant, so every output value is written once. `ZeroPadding2D` runs it before the convolutions of the
 * notebook's models where TF's `same` padding differs from PyTorch's explicit `padding=p`.
 */
function padV2(args: { inputs: PadV2Inputs; backend: WasmHeapBackend; attrs: PadV2Attrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32' || x.shape.length === 0)
    return runFallback(PadV2, args as never, `dtype ${x.dtype} is not supported`);
  const { paddings, constantValue } = attrs;
  const rank = x.shape.length;
  const outShape = x.shape.map((d, i) => paddings[i][0] + d + paddings[i][1]);
  const out = backend.makeOutput(outShape, 'float32');
  const dst = backend.typedArrayFromHeap(out);
  const count = util.sizeFromShape(x.shape);
  if (count === 0) {
    dst.fill(constantValue);
    return out;
  }
  const src = backend.typedArrayFromHeap(x);
  // Trailing axes without padding join the copied row; the last padded axis (from the end) closes it.
  let d = rank - 1;
  let row = x.shape[d];
  while (d > 0 && paddings[d][0] === 0 && paddings[d][1] === 0) row *= x.shape[--d];
  const outStrides = [...util.computeStrides(outShape), 1];
  const outer = x.shape.slice(0, d);
  const index = new Array<number>(outer.length).fill(0);
  const rows = count / row;
  // Every output value is written once: the gap before each row with the constant, then the row.
  let written = 0;
  for (let r = 0, p = 0; r < rows; r++, p += row) {
    let o = paddings[d][0] * outStrides[d];
    for (let a = 0; a < outer.length; a++) o += (index[a] + paddings[a][0]) * outStrides[a];
    if (o > written) dst.fill(constantValue, written, o);
    if (row >= 16) dst.set(src.subarray(p, p + row), o);
    else for (let k = 0; k < row; k++) dst[o + k] = src[p + k];
    written = o + row;
    for (let a = outer.length - 1; a >= 0; a--) {
      if (++index[a] < outer[a]) break;
      index[a] = 0;
    }
  }
  if (written < dst.length) dst.fill(constantValue, written);
  return out;
}

/** The wasm backend's `PadV2` as block copies, as a kernel config to register. */
export const wasmPadV2Config: KernelConfig = {
  kernelName: PadV2,
  backendName: 'wasm',
  kernelFunc: padV2 as unknown as KernelFunc,
};
