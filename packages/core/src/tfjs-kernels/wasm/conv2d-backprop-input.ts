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
import { interleavePhases } from './interleave-phases.js';
import { convOnSimd, convOnSimdPays } from './conv2d.js';
import { compositeScope, runFallback, type WasmHeapBackend } from './run-kernel.js';

/**
 * Rearranges a forward filter `w[kh, kw, ci, co]` into the filter of the equivalent stride-1 convolution over `dy`
 * that computes all `s x s` output phases at once: `f[th, tw, co, (rh * s + rw) * ci + c] =
 * w[rh + (kk - 1 - th) * s, rw + (kk - 1 - tw) * s, c, co]` (zero past the kernel's edge), `kk = ceil(k / s)`.
 */
export function phaseFilter(
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
  for (let th = 0; th < kkh; th++) {
    for (let tw = 0; tw < kkw; tw++) {
      for (let rh = 0; rh < sh; rh++) {
        const y = rh + (kkh - 1 - th) * sh;
        if (y >= kh) continue;
        for (let rw = 0; rw < sw; rw++) {
          const x = rw + (kkw - 1 - tw) * sw;
          if (x >= kw) continue;
          const src = (y * kw + x) * ci * co;
          for (let o = 0; o < co; o++) {
            const dst = ((th * kkw + tw) * co + o) * outC + (rh * sw + rw) * ci;
            for (let c = 0; c < ci; c++) data[dst + c] = w[src + c * co + o];
          }
        }
      }
    }
  }
  return { data, shape: [kkh, kkw, co, outC] };
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
  const f = phaseFilter(wasm.typedArrayFromHeap(filter), kh, kw, ci, co, sh, sw);
  const [kkh, kkw] = f.shape;
  // Phase positions q cover padded-input rows j = q * s + r in [top, top + inHeight).
  const qh = Math.floor((top + inHeight - 1) / sh) + 1;
  const qw = Math.floor((left + inWidth - 1) / sw) + 1;
  const layout = { n, qh, qw, sh, sw, c: ci, h: inHeight, w: inWidth, top, left };
  if (convOnSimdPays(backend)) {
    // The phases on cbir's SIMD kernels, which read dy's padding (kk - 1 before, zeros past its end) as zeros.
    const done = convOnSimd(wasm.typedArrayFromHeap(dy), f.data, {
      batchSize: n,
      inHeight: dy.shape[1],
      inWidth: dy.shape[2],
      inChannels: co,
      outChannels: sh * sw * ci,
      filterHeight: kkh,
      filterWidth: kkw,
      outHeight: qh,
      outWidth: qw,
      strideHeight: 1,
      strideWidth: 1,
      dilationHeight: 1,
      dilationWidth: 1,
      padInfo: { top: kkh - 1, left: kkw - 1 },
    });
    if (done) {
      const out = wasm.makeOutput([n, inHeight, inWidth, ci], 'float32');
      interleavePhases(done.out, wasm.typedArrayFromHeap(out), layout);
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
