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
import { CbirError } from '../../errors.js';
import { structLayout } from '../../compute/wasm-simd/kernel-structs.js';
import { SimdKernels } from '../../compute/wasm-simd/simd-kernels.js';
import { productEngine } from '../../compute/engine.js';
import { compositeScope, type WasmHeapBackend } from './run-kernel.js';
import {
  convSimdTesting,
  WINO_M,
  WINO_POS,
  WINO_TEMP,
  winogradBlockTiles,
  winogradFits,
  winogradTesting,
} from './conv2d.js';
import { tensorSimd } from './tensor-simd.js';

/** Output pixels per block of the reduction: float32 sums of at most this many products, then float64. */
const BLOCK_PIXELS = 256;

/** Tiles per block of the Winograd reduction: float32 sums of at most this many products, then float64. */
const WINO_BLOCK_TILES = 256;
/** Bytes of a block's transforms (all 36 positions of the input and of the output gradient) to aim for. */
const WINO_GRAD_BLOCK_BYTES = 4 << 20;

/**
 * The filter gradient of a stride-1 3x3 convolution by Winograd's F(4x4, 3x3), the transform of the forward pass
 * (`winogradFits` in conv2d.ts): `dU = sum over tiles of (B^T d B) . (A dY A^T)` on the SIMD threads, each share into
 * its own float64 `dU`; then `wino_filter_grad` adds the shares and takes `dW = G^T dU G` in float64, on the threads
 * too. 4x fewer multiplications than the direct gradient.
 */
function winogradFilterGrad(
  backend: WasmHeapBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo | undefined {
  const k = tensorSimd();
  if (!k) return undefined;
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = info;
  const cop = Math.ceil(co / 8) * 8;
  const tiles = n * Math.ceil(oh / WINO_M) * Math.ceil(ow / WINO_M);
  const parts = k.maxParts;
  const blockTiles = winogradBlockTiles(tiles, ci, cop, parts, WINO_BLOCK_TILES, WINO_GRAD_BLOCK_BYTES);
  const scratch = WINO_POS * blockTiles * (ci + cop) + WINO_TEMP;
  const duLen = WINO_POS * ci * cop;
  const xLen = n * h * w * ci;
  const dyLen = n * oh * ow * co;
  if (
    !SimdKernels.fits(
      (xLen + dyLen + parts * scratch + 9 * ci * co) * 4 + structLayout('WinoGrad').size + parts * duLen * 8 + 16,
    )
  )
    return undefined;
  k.reset();
  const xb = k.alloc(xLen, 4);
  const db = k.alloc(dyLen, 4);
  const sb = k.alloc(parts * scratch, 4);
  const ub = k.alloc(parts * duLen, 8);
  const wb = k.alloc(9 * ci * co, 4);
  const { top, left } = info.padInfo;
  const pb = k.struct('WinoGrad', {
    x: xb.ptr,
    n,
    h,
    w,
    ci,
    dy: db.ptr,
    oh,
    ow,
    co,
    top,
    left,
    blockTiles,
    scratch: sb.ptr,
    scratchFloats: scratch,
    du: ub.ptr,
    duDoubles: duLen,
  });
  k.f32(xb).set(backend.typedArrayFromHeap(x));
  k.f32(db).set(backend.typedArrayFromHeap(dy));
  k.f64(ub).fill(0);
  k.rows('conv3x3_winograd_grad', Math.ceil(tiles / 4), 4 * WINO_POS * ci * co, (r0, r1, part) => [
    pb.ptr,
    r0,
    r1,
    part,
  ]);
  // dW = G^T dU G, with the parts' dU added, on the kernels too.
  k.rows('wino_filter_grad', ci, WINO_POS * 9 * co, (c0, c1) => [ub.ptr, parts, duLen, ci, co, wb.ptr, c0, c1]);
  convSimdTesting.runs++;
  winogradTesting.runs++;
  const out = backend.makeOutput([3, 3, ci, co], 'float32');
  backend.typedArrayFromHeap(out).set(k.f32(wb));
  k.reset();
  return out;
}

/**
 * The filter gradient on cbir's SIMD kernels (all threads), from `x` and `dy` as they lie (NHWC):
 * `dW[ky, kx, ci, co] = sum_{n, oy, ox} x[n, oy*s - top + ky, ox*s - left + kx, ci] dy[n, oy, ox, co]`, a tile of
 * 4 input x 8 output channels of one tap at a time in SIMD registers, over blocks of 256 output pixels that stay in
 * cache while every tile passes over them; each block's float32 sums are added in float64. Taps outside the input
 * add nothing, so neither tensor is padded or rearranged first.
 */
function filterGradSimd(
  backend: WasmHeapBackend,
  x: TensorInfo,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo | undefined {
  const k = tensorSimd();
  if (!k) return undefined;
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: ci,
    outChannels: co,
    filterHeight: kh,
    filterWidth: kw,
    outHeight: oh,
    outWidth: ow,
  } = info;
  const xLen = n * h * w * ci;
  const dyLen = n * oh * ow * co;
  const wLen = kh * kw * ci * co;
  if (!SimdKernels.fits((xLen + 4 + dyLen + 8) * 4 + structLayout('ConvGrad').size + wLen * 8)) return undefined;
  k.reset();
  const xb = k.alloc(xLen + 4, 4); // slack: a tile's last 4 channels may read past the last pixel (never stored)
  const db = k.alloc(dyLen + 8, 4);
  const wb = k.alloc(wLen, 8);
  const { top, left } = info.padInfo;
  const pb = k.struct('ConvGrad', {
    x: xb.ptr,
    n,
    h,
    w,
    ci,
    dy: db.ptr,
    oh,
    ow,
    co,
    kh,
    kw,
    sy: info.strideHeight,
    sx: info.strideWidth,
    top,
    left,
    rowsPerBlock: Math.max(1, Math.floor(BLOCK_PIXELS / ow)),
    dw: wb.ptr,
  });
  k.f32(xb).set(backend.typedArrayFromHeap(x));
  k.f32(db).set(backend.typedArrayFromHeap(dy));
  k.f64(wb).fill(0);
  const tiles = kh * kw * Math.ceil(ci / 4) * Math.ceil(co / 8);
  k.rows('conv_filter_grad', tiles, n * oh * ow * 32, (r0, r1) => [pb.ptr, r0, r1]);
  convSimdTesting.runs++;
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  backend.typedArrayFromHeap(out).set(k.f64(wb));
  k.reset();
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
 * without WebAssembly SIMD. With it, cbir's threaded SIMD kernels compute it ({@link filterGradSimd}).
 */
function conv2DBackpropFilter(args: {
  inputs: Conv2DBackpropFilterInputs;
  backend: KernelBackend;
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== 'channelsLast')
    throw new CbirError('INVALID_ARGUMENT', `wasm Conv2DBackpropFilter supports only NHWC, got ${dataFormat}.`);
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  if (info.dilationHeight === 1 && info.dilationWidth === 1 && productEngine() !== 'js') {
    const out =
      (winogradFits(info) && info.outChannels % 4 === 0
        ? winogradFilterGrad(backend as WasmHeapBackend, x, dy, info)
        : undefined) ?? filterGradSimd(backend as WasmHeapBackend, x, dy, info);
    if (out) return out;
  }
  const { top, bottom, left, right } = info.padInfo;
  const { run, dispose } = compositeScope(backend);

  let xp = x;
  // Only the rows and columns the forward convolution read matter; SAME padding may add a bottom/right margin.
  const usedH = (info.outHeight - 1) * info.strideHeight + info.filterHeight;
  const usedW = (info.outWidth - 1) * info.strideWidth + info.filterWidth;
  if (top || bottom || left || right) {
    xp = run(
      'PadV2',
      { x },
      {
        paddings: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
  }
  if (xp.shape[1] !== usedH || xp.shape[2] !== usedW) {
    xp = run('Slice', { x: xp }, { begin: [0, 0, 0, 0], size: [xp.shape[0], usedH, usedW, xp.shape[3]] });
  }
  const xt = run('Transpose', { x: xp }, { perm: [3, 1, 2, 0] }); // [ci, h, w, n]
  const dyt = run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]: the filter
  const conv = run(
    'Conv2D',
    { x: xt, filter: dyt },
    {
      strides: [1, 1],
      pad: 'valid',
      dataFormat: 'NHWC',
      dilations: [info.strideHeight, info.strideWidth],
      dimRoundingMode: undefined,
    },
  ); // [ci, kh, kw, co]
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
