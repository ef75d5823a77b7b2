import {
  backend_util,
  Conv2D,
  FusedConv2D,
  type Conv2DAttrs,
  type Conv2DInputs,
  type FusedConv2DAttrs,
  type FusedConv2DInputs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { structLayout } from '../../compute/wasm-simd/kernel-structs.js';
import { SimdKernels, simdThreadsActive } from '../../compute/wasm-simd/simd-kernels.js';
import { productEngine } from '../../compute/engine.js';
import { runFallback, tfjsWasmThreads, type WasmHeapBackend } from './run-kernel.js';
import { tensorSimd } from './tensor-simd.js';

/**
 * Test hooks: run every convolution the kernels can take on them (no speed heuristics), and count the runs of the
 * convolution and filter-gradient kernels.
 */
export const convSimdTesting = { always: false, runs: 0 };

/** Output channels per filter block of `conv2d_nhwc` (two SIMD vectors). */
const BLOCK = 8;
/**
 * On one thread, XNNPACK is faster for filters with fewer taps than this (`kh * kw * ci`): ConvAutoencoder's first
 * convolution (27 taps) at 128 px, batch 32, takes 1.3-1.45 ms on XNNPACK and 1.7-1.9 ms here; at 144 taps, 0.21 ms
 * against 0.16-0.19. With threads, this kernel is the faster at every size the models use.
 */
const MIN_TAPS_ONE_THREAD = 64;
/**
 * The tensors are copied into the kernels' memory and back: below this many multiply-adds per value copied, the
 * copies cost more than the threads gain. ConvAutoencoder's convolutions (10 and 15) stay on XNNPACK; the smallest of
 * ConvAutoencoderV2 (its first, 25) gains 25% here.
 */
const MIN_INTENSITY = 20;

/**
 * Packs an HWIO filter `[kh, kw, ci, co]` into `conv2d_nhwc`'s blocks of 8 output channels,
 * `[ceil(co / 8)][kh][kw][ci][8]`, zero past `co`: the kernel then reads each block's filter contiguously.
 */
function packFilter(f: Float32Array, k: number, co: number, out: Float32Array): void {
  const blocks = Math.ceil(co / BLOCK);
  out.fill(0);
  for (let b = 0; b < blocks; b++) {
    const c0 = b * BLOCK;
    const m = Math.min(BLOCK, co - c0);
    for (let t = 0; t < k; t++) {
      const src = t * co + c0;
      const dst = (b * k + t) * BLOCK;
      for (let j = 0; j < m; j++) out[dst + j] = f[src + j];
    }
  }
}

/** What a convolution adds after the sum: a bias per output channel and optionally ReLU. */
export interface ConvEpilogue {
  bias?: Float32Array;
  relu?: boolean;
}

/** The geometry {@link convOnSimd} reads (tfjs's `Conv2DInfo` has it all). */
export type ConvGeometry = Pick<
  backend_util.Conv2DInfo,
  | 'batchSize'
  | 'inHeight'
  | 'inWidth'
  | 'inChannels'
  | 'outChannels'
  | 'filterHeight'
  | 'filterWidth'
  | 'outHeight'
  | 'outWidth'
  | 'strideHeight'
  | 'strideWidth'
  | 'dilationHeight'
  | 'dilationWidth'
> & { padInfo: { top: number; left: number } };

/** The kernels' bias buffer: the epilogue's bias (one per output channel, or one for all), zeros past it. */
function writeBias(out: Float32Array, co: number, epilogue: ConvEpilogue): void {
  out.fill(0);
  if (epilogue.bias?.length === 1) out.fill(epilogue.bias[0], 0, co);
  else if (epilogue.bias) out.set(epilogue.bias);
}

/** F(4x4, 3x3): outputs per tile side, the transformed tile's side, and its positions. */
export const WINO_M = 4;
const WINO_T = 6;
export const WINO_POS = WINO_T * WINO_T;
/** Floats of each part's scratch that hold a transform's intermediate (36 vectors of 4). */
export const WINO_TEMP = WINO_POS * 4;
/** Bytes of a block's transformed tiles (input and output, all 36 positions) that stay in a core's L2 cache. */
const WINO_BLOCK_BYTES = 1 << 20;
/** Tiles per block of the forward kernel at most (64 x 64 channels fit 56 in WINO_BLOCK_BYTES). */
const WINO_MAX_BLOCK_TILES = 64;

/**
 * Tiles per block of the Winograd kernels, a multiple of 4: as many as keep the block's transforms within
 * `budgetBytes` (at least 4, at most `max`), and no more than an even share of `tiles` between the threads' parts.
 */
export function winogradBlockTiles(
  tiles: number,
  ci: number,
  cop: number,
  parts: number,
  max: number,
  budgetBytes: number,
): number {
  const fit = Math.floor(budgetBytes / (WINO_POS * (ci + cop) * 4) / 4) * 4;
  const share = Math.ceil(tiles / parts / 4) * 4;
  return Math.max(4, Math.min(max, fit, share, winogradTesting.maxBlockTiles));
}

/**
 * Test hooks: `enabled: false` keeps every convolution on the direct kernel; `runs` counts the Winograd ones;
 * `maxBlockTiles` caps the tiles per block (small blocks put several in each thread's share).
 */
export const winogradTesting = { enabled: true, runs: 0, maxBlockTiles: Infinity };

/**
 * Whether a convolution takes the Winograd kernel: 3x3, stride 1, no dilation, channels in SIMD vectors, and enough
 * output channels for the transforms (per input and output value) to be paid back by the 4x fewer multiplications
 * (8 and more: ConvAutoencoderV2's stride-1 layers have 32 to 256; its 3-channel first layer stays direct).
 */
export function winogradFits(g: ConvGeometry): boolean {
  return (
    winogradTesting.enabled &&
    g.filterHeight === 3 &&
    g.filterWidth === 3 &&
    g.strideHeight === 1 &&
    g.strideWidth === 1 &&
    g.dilationHeight === 1 &&
    g.dilationWidth === 1 &&
    g.inChannels % 4 === 0 &&
    g.outChannels >= 8
  );
}

/** {@link convOnSimd} for the convolutions {@link winogradFits} takes: Winograd's F(4x4, 3x3). */
function winogradOnSimd(
  k: SimdKernels,
  x: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
  epilogue: ConvEpilogue,
): { k: SimdKernels; out: Float32Array } | undefined {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outChannels: co, outHeight: oh, outWidth: ow } = g;
  const blocks = Math.ceil(co / BLOCK);
  const tiles = n * Math.ceil(oh / WINO_M) * Math.ceil(ow / WINO_M);
  const parts = k.maxParts;
  const blockTiles = winogradBlockTiles(tiles, ci, blocks * BLOCK, parts, WINO_MAX_BLOCK_TILES, WINO_BLOCK_BYTES);
  const scratch = WINO_POS * blockTiles * (ci + blocks * BLOCK) + WINO_TEMP;
  const inLen = n * h * w * ci;
  const outLen = n * oh * ow * co;
  const uLen = WINO_POS * blocks * ci * BLOCK;
  if (
    !SimdKernels.fits(
      (inLen + outLen + uLen + filter.length + blocks * BLOCK + parts * scratch) * 4 + structLayout('Wino').size,
    )
  )
    return undefined;
  k.reset();
  const xb = k.alloc(inLen, 4);
  const ub = k.alloc(uLen, 4);
  const fb = k.alloc(filter.length, 4);
  const bb = k.alloc(blocks * BLOCK, 4);
  const sb = k.alloc(parts * scratch, 4);
  const ob = k.alloc(outLen, 4);
  const { top, left } = g.padInfo;
  const pb = k.struct('Wino', {
    x: xb.ptr,
    n,
    h,
    w,
    ci,
    u: ub.ptr,
    co,
    oh,
    ow,
    top,
    left,
    blockTiles,
    bias: bb.ptr,
    relu: epilogue.relu ? 1 : 0,
    scratch: sb.ptr,
    scratchFloats: scratch,
    out: ob.ptr,
  });
  k.f32(xb).set(x);
  k.f32(fb).set(filter);
  k.f32(ub).fill(0);
  k.rows('wino_filter', ci, WINO_POS * 9 * co, (c0, c1) => [fb.ptr, ci, co, ub.ptr, c0, c1]);
  writeBias(k.f32(bb), co, epilogue);
  k.rows('conv3x3_winograd', Math.ceil(tiles / 4), 4 * WINO_POS * ci * co, (r0, r1, part) => [pb.ptr, r0, r1, part]);
  convSimdTesting.runs++;
  winogradTesting.runs++;
  return { k, out: k.f32(ob) };
}

/**
 * A convolution (NHWC input `x`, HWIO `filter`) on cbir's threaded SIMD kernels: an implicit GEMM over the input as it
 * lies, with the padding (and anything past the input's edge) read as zeros, so nothing is padded or unfolded first.
 * Returns the output `[n, oh, ow, co]` as a view of the kernels' memory, valid until the caller's `k.reset()`; or
 * undefined where the kernels are unavailable, where XNNPACK is faster (small filters on one thread) or where the
 * tensors do not fit the kernels' memory: the caller then runs tfjs's kernel.
 */
export function convOnSimd(
  x: Float32Array,
  filter: Float32Array,
  g: ConvGeometry,
  epilogue: ConvEpilogue = {},
): { k: SimdKernels; out: Float32Array } | undefined {
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
  } = g;
  const taps = kh * kw * ci;
  const blocks = Math.ceil(co / BLOCK);
  const inLen = n * h * w * ci;
  const outLen = n * oh * ow * co;
  const slower =
    (outLen * taps) / (inLen + outLen) < MIN_INTENSITY || (taps < MIN_TAPS_ONE_THREAD && !simdThreadsActive());
  if (slower && !convSimdTesting.always) return undefined;
  if (winogradFits(g)) {
    const done = winogradOnSimd(k, x, filter, g, epilogue);
    if (done) return done;
  }
  if (!SimdKernels.fits((inLen + outLen + blocks * taps * BLOCK + blocks * BLOCK + ci) * 4 + structLayout('Conv').size))
    return undefined;
  k.reset();
  const xb = k.alloc(inLen, 4);
  const fb = k.alloc(blocks * taps * BLOCK, 4);
  const bb = k.alloc(blocks * BLOCK, 4);
  const zb = k.alloc(Math.max(ci, 4), 4);
  const ob = k.alloc(outLen, 4);
  const { top, left } = g.padInfo;
  const pb = k.struct('Conv', {
    x: xb.ptr,
    n,
    h,
    w,
    ci,
    f: fb.ptr,
    kh,
    kw,
    co,
    oh,
    ow,
    sy: g.strideHeight,
    sx: g.strideWidth,
    dy: g.dilationHeight,
    dx: g.dilationWidth,
    top,
    left,
    bias: bb.ptr,
    relu: epilogue.relu ? 1 : 0,
    zero: zb.ptr,
    out: ob.ptr,
  });
  k.f32(xb).set(x);
  packFilter(filter, taps, co, k.f32(fb));
  writeBias(k.f32(bb), co, epilogue);
  k.f32(zb).fill(0);
  k.rows('conv2d_nhwc', n * oh, ow * co * taps, (r0, r1) => [pb.ptr, r0, r1]);
  convSimdTesting.runs++;
  return { k, out: k.f32(ob) };
}

/**
 * Whether the convolutions of `backend` should try cbir's SIMD kernels: WebAssembly SIMD is there, and tfjs's own
 * XNNPACK is not itself on more threads than cbir's (as in a cross-origin isolated page, where tfjs loads its
 * threaded build and cbir's kernels run on one thread).
 */
export function convOnSimdPays(backend: KernelBackend): boolean {
  return productEngine() === 'simd' && (simdThreadsActive() || tfjsWasmThreads(backend) <= 1 || convSimdTesting.always);
}

/** {@link convOnSimd} on tensors of the wasm backend: the output as a new tensor, or undefined as there. */
function convSimd(
  backend: WasmHeapBackend,
  x: TensorInfo,
  filter: TensorInfo,
  info: backend_util.Conv2DInfo,
  epilogue: ConvEpilogue = {},
): TensorInfo | undefined {
  if (!convOnSimdPays(backend)) return undefined;
  const done = convOnSimd(backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(filter), info, epilogue);
  if (!done) return undefined;
  const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.outChannels], 'float32');
  backend.typedArrayFromHeap(out).set(done.out);
  done.k.reset();
  return out;
}

function conv2DInfo(x: TensorInfo, filter: TensorInfo, attrs: Conv2DAttrs | FusedConv2DAttrs): backend_util.Conv2DInfo {
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = attrs;
  return backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(dataFormat),
  );
}

/** `Conv2D` for the wasm backend on cbir's threaded SIMD kernels; tfjs's (XNNPACK, one thread in Node) otherwise. */
function conv2D(args: { inputs: Conv2DInputs; backend: KernelBackend; attrs: Conv2DAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  if (attrs.dataFormat === 'NHWC') {
    const out = convSimd(backend as WasmHeapBackend, x, filter, conv2DInfo(x, filter, attrs));
    if (out) return out;
  }
  return runFallback(Conv2D, args as never, 'the SIMD kernels are unavailable');
}

/** `FusedConv2D` (bias and ReLU or none) for the wasm backend on cbir's SIMD kernels; tfjs's for anything else. */
function fusedConv2D(args: { inputs: FusedConv2DInputs; backend: KernelBackend; attrs: FusedConv2DAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const bias = inputs.bias as TensorInfo | undefined;
  const activation = attrs.activation ?? 'linear';
  const co = filter.shape[3];
  const biasOk = !bias || bias.shape.reduce((a, b) => a * b, 1) === co || bias.shape.reduce((a, b) => a * b, 1) === 1;
  if (attrs.dataFormat === 'NHWC' && (activation === 'linear' || activation === 'relu') && biasOk) {
    const wasm = backend as WasmHeapBackend;
    const out = convSimd(wasm, x, filter, conv2DInfo(x, filter, attrs), {
      bias: bias ? wasm.typedArrayFromHeap(bias).slice() : undefined,
      relu: activation === 'relu',
    });
    if (out) return out;
  }
  return runFallback(FusedConv2D, args as never, 'the SIMD kernels are unavailable');
}

/** The wasm backend's `Conv2D` on cbir's SIMD kernels, as a kernel config to register. */
export const wasmConv2DConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: 'wasm',
  kernelFunc: conv2D as unknown as KernelFunc,
};

/** The wasm backend's `FusedConv2D` on cbir's SIMD kernels, as a kernel config to register. */
export const wasmFusedConv2DConfig: KernelConfig = {
  kernelName: FusedConv2D,
  backendName: 'wasm',
  kernelFunc: fusedConv2D as unknown as KernelFunc,
};
