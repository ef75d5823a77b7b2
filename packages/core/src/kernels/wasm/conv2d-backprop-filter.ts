import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type Conv2DBackpropFilterInputs,
  type KernelConfig,
  type KernelFunc,
  type KernelBackend,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { SimdKernels } from '../../simd/simd-kernels.js';
import { productEngine } from '../../utils/active-backend.js';
import { compositeScope, type WasmHeapBackend } from './run-kernel.js';
import { tensorSimd } from './tensor-simd.js';

/** Pixels of the reduction per dot-kernel call: 64 KB of each plane. */
const SEGMENT = 16384;

/**
 * The filter gradient on cbir's SIMD kernels (all threads). With `dy` laid out as channel planes over a pixel grid
 * (`D[co]`, zero outside the output) and the padded `x` as its stride phases on the same grid (`X_p[ci]`: phase
 * `(ph, pw)` holds `x_pad[s * Y + ph, s * X + pw]`), `dW[s * a + ph, s * b + pw, ci, co]` is the dot product of
 * `X_p[ci]` shifted by `a * wp + b` with `D[co]`: one dot-product call per filter tap, reduced over every pixel of the
 * batch, in float32 chunks summed in float64. At stride 1 there is one phase.
 */
function filterGradSimd(backend: WasmHeapBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo | undefined {
  const k = tensorSimd();
  if (!k) return undefined;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sy, strideWidth: sx } = info;
  const { top, left } = info.padInfo;
  // Taps per phase are at most ceil(k / s); the grid holds the output plus the largest shift.
  const hp = oh + Math.ceil(kh / sy) - 1;
  const wp = ow + Math.ceil(kw / sx) - 1;
  const len = n * hp * wp; // the reduction: every grid pixel of the batch (D is zero outside the output)
  const margin = (hp - oh) * wp + (wp - ow); // X is read up to this far past a plane's last pixel
  const ldx = len + margin;
  if (!SimdKernels.fits((ci * ldx + co * len + (n * h * w * ci + n * oh * ow * co) + 2 * ci * co) * 4)) return undefined;
  k.reset();
  const xb = k.alloc(ci * ldx, 4);
  const db = k.alloc(co * len, 4);
  const xs = k.alloc(n * h * w * ci, 4);
  const ds = k.alloc(n * oh * ow * co, 4);
  // The larger channel count is the kernel's row dimension, which threads split.
  const rowsAreCo = co >= ci;
  const ob = k.alloc(ci * co, 8);
  k.f32(db).fill(0);
  k.f32(xs).set(backend.typedArrayFromHeap(x));
  k.f32(ds).set(backend.typedArrayFromHeap(dy));
  // Image by image on every thread.
  const grid = hp * wp * 4;
  k.rows('nhwc_to_planes', n, oh * ow * co * 4, (r0, r1) => [ds.ptr + r0 * oh * ow * co * 4, r1 - r0, oh, ow, co, hp, wp, 0, 0, 1, 1, db.ptr + r0 * grid, len]);
  const grad = new Float32Array(kh * kw * ci * co);
  const acc = new Float64Array(ci * co);
  for (let ph = 0; ph < Math.min(sy, kh); ph++) {
    for (let pw = 0; pw < Math.min(sx, kw); pw++) {
      k.f32(xb).fill(0);
      k.rows('nhwc_to_planes', n, h * w * ci * 4, (r0, r1) => [xs.ptr + r0 * h * w * ci * 4, r1 - r0, h, w, ci, hp, wp, top - ph, left - pw, sy, sx, xb.ptr + r0 * grid, ldx]);
      for (let a = 0; sy * a + ph < kh; a++) {
        for (let b = 0; sx * b + pw < kw; b++) {
          acc.fill(0);
          // The reduction by segments, so that one segment of every plane stays in cache while the dot kernel passes
          // over it once per block of rows (whole planes are tens of MB: streamed from memory once per block).
          for (let s0 = 0; s0 < len; s0 += SEGMENT) {
            const d = Math.min(SEGMENT, len - s0);
            const xp = xb.ptr + (a * wp + b + s0) * 4;
            const dp = db.ptr + s0 * 4;
            if (rowsAreCo) k.rows('dots_f32_ld', co, ci * d, (r0, r1) => [dp + r0 * len * 4, r1 - r0, len, xp, ci, ldx, d, ob.ptr + r0 * ci * 8]);
            else k.rows('dots_f32_ld', ci, co * d, (r0, r1) => [xp + r0 * ldx * 4, r1 - r0, ldx, dp, co, len, d, ob.ptr + r0 * co * 8]);
            const dots = k.f64(ob);
            for (let t = 0; t < acc.length; t++) acc[t] += dots[t];
          }
          const o = ((sy * a + ph) * kw + sx * b + pw) * ci * co;
          if (rowsAreCo) for (let c = 0; c < co; c++) for (let i = 0; i < ci; i++) grad[o + i * co + c] = acc[c * ci + i];
          else grad.set(acc, o);
        }
      }
    }
  }
  k.reset();
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  backend.typedArrayFromHeap(out).set(grad);
  return out;
}

/**
 * `Conv2DBackpropFilter` for the wasm backend, which does not ship one (so tfjs cannot train convolutions on wasm).
 *
 * The filter gradient `dW[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]` is
 * itself a convolution once the batch axis plays the role of channels: with `x` transposed to `[ci, h, w, n]` and
 * `dy` to `[oh, ow, n, co]` used as the filter, a stride-1 convolution dilated by the forward stride gives
 * `[ci, kh', kw', co]`, from which the first `kh x kw` positions are the gradient. That convolution runs on the
 * backend's own `Conv2D` kernel (XNNPACK), so the whole gradient is one fast GEMM plus three transposes: the path
 * without WebAssembly SIMD. With it, cbir's threaded SIMD kernels compute it ({@link filterGradSimd}): in a
 * ConvAutoencoderV2 step at 128 px, batch 32, 769 ms against 1,862 ms (`tf.profile`), where XNNPACK's reduction over
 * the batch, 32 channels per tap, is short.
 */
function conv2DBackpropFilter(args: { inputs: Conv2DBackpropFilterInputs; backend: KernelBackend; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast') throw new Error(`wasm Conv2DBackpropFilter supports only NHWC, got ${dataFormat}`);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false, format,
  );
  if (info.dilationHeight === 1 && info.dilationWidth === 1 && productEngine() !== 'js') {
    const out = filterGradSimd(backend as WasmHeapBackend, x, dy, info);
    if (out) return out;
  }
  const { top, bottom, left, right } = info.padInfo;
  const { run, dispose } = compositeScope(backend);

  let xp = x;
  // Only the rows and columns the forward convolution read matter; SAME padding may add a bottom/right margin.
  const usedH = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const usedW = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  if (top || bottom || left || right) {
    xp = run('PadV2', { x }, { paddings: [[0, 0], [top, bottom], [left, right], [0, 0]], constantValue: 0 });
  }
  if (xp.shape[1] !== usedH || xp.shape[2] !== usedW) {
    xp = run('Slice', { x: xp }, { begin: [0, 0, 0, 0], size: [xp.shape[0], usedH, usedW, xp.shape[3]] });
  }
  const xt = run('Transpose', { x: xp }, { perm: [3, 1, 2, 0] }); // [ci, h, w, n]
  const dyt = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]: the filter
  const conv = run('Conv2D', { x: xt, filter: dyt }, {
    strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [info.strideHeight, info.strideWidth], dimRoundingMode: undefined,
  }); // [ci, kh, kw, co]
  const out = run('Transpose', { x: conv }, { perm: [1, 2, 0, 3] }, true); // [kh, kw, ci, co]
  dispose();
  return out;
}

/** The wasm backend's `Conv2DBackpropFilter`, as a kernel config to register. */
export const wasmConv2DBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter as unknown as KernelFunc,
};
