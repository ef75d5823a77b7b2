import {
  Slice,
  slice_util,
  util,
  type KernelConfig,
  type KernelFunc,
  type SliceAttrs,
  type SliceInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * `Slice` for the wasm backend as block copies on the wasm heap: the trailing axes taken whole form one contiguous
 * block per remaining index, copied with `TypedArray.set`. It is the backward pass of every `ZeroPadding2D` (and the
 * forward pass of `Cropping2D`), where tfjs's own wasm kernel spends hundreds of milliseconds per training step.
 */
function slice(args: { inputs: SliceInputs; backend: WasmHeapBackend; attrs: SliceAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype !== 'float32') return runFallback(Slice, args as never, `dtype ${x.dtype} is not supported`);
  const [begin, size] = slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
  slice_util.assertParamsValid(x as never, begin, size);
  const out = backend.makeOutput(size, 'float32');
  if (util.sizeFromShape(size) === 0) return out;
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const rank = x.shape.length;
  // Trailing axes taken whole join the contiguous block; the first partial axis from the end ends it.
  let d = rank - 1;
  let block = 1;
  while (d >= 0 && begin[d] === 0 && size[d] === x.shape[d]) block *= x.shape[d--];
  if (d >= 0) block *= size[d];
  const strides = util.computeStrides(x.shape);
  const outer = d >= 0 ? size.slice(0, d) : [];
  const count = util.sizeFromShape(outer);
  const index = new Array<number>(outer.length).fill(0);
  const innerOffset = d >= 0 ? begin[d] * (d < rank - 1 ? strides[d] : 1) : 0;
  for (let r = 0, o = 0; r < count; r++, o += block) {
    let p = innerOffset;
    for (let a = 0; a < outer.length; a++) p += (begin[a] + index[a]) * strides[a];
    if (block >= 16) dst.set(src.subarray(p, p + block), o);
    else for (let k = 0; k < block; k++) dst[o + k] = src[p + k];
    for (let a = outer.length - 1; a >= 0; a--) {
      if (++index[a] < outer[a]) break;
      index[a] = 0;
    }
  }
  return out;
}

/** The wasm backend's `Slice` as block copies, as a kernel config to register. */
export const wasmSliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: 'wasm',
  kernelFunc: slice as unknown as KernelFunc,
};
