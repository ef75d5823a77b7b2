import {
  Sum,
  util,
  type KernelConfig,
  type KernelFunc,
  type SumAttrs,
  type SumInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { HEAP_CHUNK, heapKernels, heapKernelsTesting } from './heap-kernels.js';
import { runFallback, type WasmHeapBackend } from './run-kernel.js';
import { tensorSimd } from './tensor-simd.js';

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
  const acc = columnSumsInPlace(backend, x, rows, cols) ?? columnSums(backend.typedArrayFromHeap(x), rows, cols);
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).set(acc);
  return out;
}

/**
 * Column sums of `x` (`[rows, cols]`) in float64 in place in tfjs's memory (`column_sums_f64` of heap-kernels.c, one
 * thread, the sums in a scratch buffer of tfjs's), or undefined where the heap kernels are unavailable. A 32 x 128 x
 * 128 x 64 bias gradient: 35 to 40 ms on the threads with a copy, 10 to 15 here.
 */
function columnSumsInPlace(
  backend: WasmHeapBackend,
  x: TensorInfo,
  rows: number,
  cols: number,
): Float64Array | undefined {
  const heap = heapKernels(backend);
  if (!heap) return undefined;
  const scratch = backend.makeOutput([2 * cols], 'float32'); // cols float64s
  try {
    const sums = backend.typedArrayFromHeap(scratch);
    if (sums.byteOffset % 8 !== 0) return undefined;
    sums.fill(0);
    const src = backend.typedArrayFromHeap(x).byteOffset;
    const step = Math.max(1, Math.floor(HEAP_CHUNK / cols));
    for (let r = 0; r < rows; r += step)
      heap.column_sums_f64(src + r * cols * 4, Math.min(step, rows - r), cols, sums.byteOffset);
    heapKernelsTesting.runs++;
    const view = backend.typedArrayFromHeap(scratch);
    return new Float64Array(view.buffer, view.byteOffset, cols).slice();
  } finally {
    backend.disposeData(scratch.dataId);
  }
}

/**
 * Column sums of `src` (`[rows, cols]`) in float64: on cbir's SIMD kernels and threads (the rows copied into their
 * memory, each thread's share summed into its own row of sums), or a JS loop without them. A 32 x 128 x 128 x 64 bias
 * gradient took 73 ms in the JS loop, 36 to 40 here.
 */
function columnSums(src: Float32Array, rows: number, cols: number): Float64Array {
  const acc = new Float64Array(cols);
  const k = tensorSimd();
  if (k && rows >= 64) {
    k.reset();
    const xb = k.alloc(rows * cols, 4);
    const parts = k.maxParts;
    const sb = k.alloc(parts * cols, 8);
    k.f32(xb).set(src.subarray(0, rows * cols));
    k.f64(sb).fill(0);
    k.rows('column_sums_f64', rows, cols, (r0, r1, part) => [
      xb.ptr + r0 * cols * 4,
      r1 - r0,
      cols,
      sb.ptr + part * cols * 8,
    ]);
    const sums = k.f64(sb);
    for (let p = 0; p < parts; p++) for (let c = 0; c < cols; c++) acc[c] += sums[p * cols + c];
    k.reset();
    return acc;
  }
  // Four rows per update of the accumulator (a row at a time, the stores into acc were the loop's limit).
  let r = 0;
  for (; r + 4 <= rows; r += 4) {
    const p = r * cols;
    for (let c = 0; c < cols; c++)
      acc[c] += src[p + c] + src[p + cols + c] + (src[p + 2 * cols + c] + src[p + 3 * cols + c]);
  }
  for (; r < rows; r++) for (let c = 0, p = r * cols; c < cols; c++) acc[c] += src[p + c];
  return acc;
}

/** The wasm backend's `Sum` over leading axes, as a kernel config to register. */
export const wasmSumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: 'wasm',
  kernelFunc: sum as unknown as KernelFunc,
};
