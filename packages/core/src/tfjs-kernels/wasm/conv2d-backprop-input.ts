import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type Conv2DBackpropInputInputs,
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import { interleavePhase, interleavePhases, type PhaseLayout } from './interleave-phases.js';
import { convOnSimd, convOnSimdPays } from './conv2d.js';
import { compositeScope, runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * The filter of output phase `(rh, rw)` alone, as a stride-1 convolution over `dy`: its own taps only,
 * `f[th, tw, co, c] = w[rh + (kh' - 1 - th) * s, rw + (kw' - 1 - tw) * s, c, co]` with `kh' = ceil((kh - rh) / s)`
 * taps down and `kw'` across (none where the kernel is smaller than the stride).
 */
function onePhaseFilter(
  w: Float32Array,
  kh: number,
  kw: number,
  ci: number,
  co: number,
  sh: number,
  sw: number,
  rh: number,
  rw: number,
): { data: Float32Array; shape: [number, number, number, number] } {
  const th = Math.max(0, Math.ceil((kh - rh) / sh));
  const tw = Math.max(0, Math.ceil((kw - rw) / sw));
  const data = new Float32Array(th * tw * co * ci);
  for (let a = 0; a < th; a++) {
    for (let b = 0; b < tw; b++) {
      const src = ((rh + (th - 1 - a) * sh) * kw + rw + (tw - 1 - b) * sw) * ci * co;
      for (let o = 0; o < co; o++) {
        const dst = ((a * tw + b) * co + o) * ci;
        for (let c = 0; c < ci; c++) data[dst + c] = w[src + c * co + o];
      }
    }
  }
  return { data, shape: [th, tw, co, ci] };
}

/**
 * The filter of the equivalent stride-1 convolution over `dy` that computes all `s x s` output phases at once: each
 * phase's {@link onePhaseFilter} stacked along the output channels, `f[th, tw, co, (rh * s + rw) * ci + c]`, over
 * `kk = ceil(k / s)` taps; a phase with fewer taps sits at the last ones, zeros before.
 */
function phaseFilter(
  w: Float32Array,
  kh: number,
  kw: number,
  ci: number,
  co: number,
  sh: number,
  sw: number,
): { data: Float32Array; shape: [number, number, number, number] } {
  const kkh = Math.ceil(kh / sh);
  const kkw = Math.ceil(kw / sw);
  const outC = sh * sw * ci;
  const data = new Float32Array(kkh * kkw * co * outC);
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const f = onePhaseFilter(w, kh, kw, ci, co, sh, sw, rh, rw);
      const [th, tw] = f.shape;
      for (let a = 0; a < th; a++) {
        for (let b = 0; b < tw; b++) {
          for (let o = 0; o < co; o++) {
            const src = ((a * tw + b) * co + o) * ci;
            const dst = (((kkh - th + a) * kkw + kkw - tw + b) * co + o) * outC + (rh * sw + rw) * ci;
            data.set(f.data.subarray(src, src + ci), dst);
          }
        }
      }
    }
  }
  return { data, shape: [kkh, kkw, co, outC] };
}

/**
 * Whether the phases run one by one ({@link phasesOneByOne}): the stride does not divide the kernel, every phase has a
 * tap, and `dy` has 64 channels or more. With fewer, four small convolutions cost more than the zeros they skip: V2's
 * 32-to-32 transposed convolution at 33 px, batch 32, took 46 ms one by one against 35 stacked; from 64 channels up,
 * its layers took 10, 9, 12 and 102 ms against 16, 19, 21 and 163.
 */
export function phasesApart(kh: number, kw: number, sh: number, sw: number, co: number): boolean {
  return (kh % sh !== 0 || kw % sw !== 0) && kh >= sh && kw >= sw && co >= 64;
}

/**
 * The phases one by one on cbir's SIMD convolution, each with its own taps, where the stride does not divide the
 * kernel: a 3x3 stride-2 kernel's phases have 4, 2, 2 and 1 taps, where {@link phaseFilter}'s stacked filter gives
 * each 4 (16 multiplications per output for 9 that count). Returns false (nothing written) if the kernels decline.
 */
function phasesOneByOne(
  dy: Float32Array,
  dyShape: number[],
  w: Float32Array,
  info: backend_util.Conv2DInfo,
  layout: PhaseLayout,
  out: Float32Array,
): boolean {
  const {
    filterHeight: kh,
    filterWidth: kw,
    inChannels: ci,
    outChannels: co,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  for (let rh = 0; rh < sh; rh++) {
    for (let rw = 0; rw < sw; rw++) {
      const f = onePhaseFilter(w, kh, kw, ci, co, sh, sw, rh, rw);
      const [th, tw] = f.shape;
      const done = convOnSimd(dy, f.data, {
        batchSize: layout.n,
        inHeight: dyShape[1],
        inWidth: dyShape[2],
        inChannels: co,
        outChannels: ci,
        filterHeight: th,
        filterWidth: tw,
        outHeight: layout.qh,
        outWidth: layout.qw,
        strideHeight: 1,
        strideWidth: 1,
        dilationHeight: 1,
        dilationWidth: 1,
        padInfo: { top: th - 1, left: tw - 1 },
      });
      if (!done) return false;
      interleavePhase(done.out, out, layout, rh, rw);
      done.k.reset();
    }
  }
  return true;
}

/**
 * `Conv2DBackpropInput` for the wasm backend, on cbir's threaded SIMD convolution or on XNNPACK's. tfjs's own wasm
 * kernel is a scalar loop, and it runs in the forward pass of every transposed convolution as well as in the backward
 * pass of every convolution.
 *
 * A stride-`s` transposed convolution is `s x s` stride-1 convolutions over `dy`, one per output phase, each with
 * the taps of the filter that land on that phase (sub-pixel decomposition). {@link phaseFilter} stacks the phases'
 * filters along the output channels, so one stride-1 convolution computes every phase with no multiplications by
 * inserted zeros; {@link interleavePhases} interleaves the phases and removes the forward padding in one pass. On the
 * SIMD kernels, `dy`'s padding is read as zeros and the phases are interleaved straight from the kernels' memory;
 * on XNNPACK, `dy` is padded first.
 */
function conv2DBackpropInput(args: {
  inputs: Conv2DBackpropInputInputs;
  backend: KernelBackend;
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { inputs, backend, attrs } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const format = backend_util.convertConv2DDataFormat(dataFormat);
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const {
    batchSize: n,
    inHeight,
    inWidth,
    inChannels: ci,
    outChannels: co,
    filterHeight: kh,
    filterWidth: kw,
    strideHeight: sh,
    strideWidth: sw,
  } = info;
  if (format !== 'channelsLast') {
    return runFallback(Conv2DBackpropInput, args as never, 'only NHWC is supported');
  }
  const { top, left } = info.padInfo;
  const wasm = backend as WasmHeapBackend;
  // Phase positions q cover padded-input rows j = q * s + r in [top, top + inHeight).
  const qh = Math.floor((top + inHeight - 1) / sh) + 1;
  const qw = Math.floor((left + inWidth - 1) / sw) + 1;
  const layout = { n, qh, qw, sh, sw, c: ci, h: inHeight, w: inWidth, top, left };
  if (convOnSimdPays(backend) && phasesApart(kh, kw, sh, sw, co)) {
    const out = wasm.makeOutput([n, inHeight, inWidth, ci], 'float32');
    const w = wasm.typedArrayFromHeap(filter);
    if (phasesOneByOne(wasm.typedArrayFromHeap(dy), dy.shape, w, info, layout, wasm.typedArrayFromHeap(out)))
      return out;
    wasm.disposeData(out.dataId);
  }
  const f = phaseFilter(wasm.typedArrayFromHeap(filter), kh, kw, ci, co, sh, sw);
  const [kkh, kkw] = f.shape;
  if (convOnSimdPays(backend)) {
    // The phases on cbir's SIMD kernels, which read dy's padding (kk - 1 before, zeros past its end) as zeros. At
    // stride 1 there is one phase: the convolution computes the cropped output itself (its padding less the forward
    // padding), and the result is copied back whole.
    const one = sh === 1 && sw === 1;
    const done = convOnSimd(wasm.typedArrayFromHeap(dy), f.data, {
      batchSize: n,
      inHeight: dy.shape[1],
      inWidth: dy.shape[2],
      inChannels: co,
      outChannels: sh * sw * ci,
      filterHeight: kkh,
      filterWidth: kkw,
      outHeight: one ? inHeight : qh,
      outWidth: one ? inWidth : qw,
      strideHeight: 1,
      strideWidth: 1,
      dilationHeight: 1,
      dilationWidth: 1,
      padInfo: one ? { top: kkh - 1 - top, left: kkw - 1 - left } : { top: kkh - 1, left: kkw - 1 },
    });
    if (done) {
      const out = wasm.makeOutput([n, inHeight, inWidth, ci], 'float32');
      if (one) wasm.typedArrayFromHeap(out).set(done.out);
      else interleavePhases(done.out, wasm.typedArrayFromHeap(out), layout);
      done.k.reset();
      return out;
    }
  }
  const { run, temp, dispose } = compositeScope(backend);
  const fInfo = temp({ dataId: backend.write(f.data, f.shape, 'float32'), shape: f.shape, dtype: 'float32' });
  let d = dy;
  if (dy.shape[1] > qh || dy.shape[2] > qw) {
    d = run(
      'Slice',
      { x: dy },
      { begin: [0, 0, 0, 0], size: [n, Math.min(dy.shape[1], qh), Math.min(dy.shape[2], qw), co] },
    );
  }
  const padded = run(
    'PadV2',
    { x: d },
    {
      paddings: [
        [0, 0],
        [kkh - 1, qh - d.shape[1]],
        [kkw - 1, qw - d.shape[2]],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  const phases = run(
    'Conv2D',
    { x: padded, filter: fInfo },
    { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], dimRoundingMode: undefined },
  );
  const out = wasm.makeOutput([n, inHeight, inWidth, ci], 'float32');
  interleavePhases(wasm.typedArrayFromHeap(phases), wasm.typedArrayFromHeap(out), layout);
  dispose();
  return out;
}

/** The wasm backend's `Conv2DBackpropInput` on XNNPACK, as a kernel config to register. */
export const wasmConv2DBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInput as unknown as KernelFunc,
};
