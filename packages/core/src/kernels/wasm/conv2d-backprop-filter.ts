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
import { compositeScope } from './run-kernel.js';

/**
 * `Conv2DBackpropFilter` for the wasm backend, which does not ship one (so tfjs cannot train convolutions on wasm).
 *
 * The filter gradient `dW[kh, kw, ci, co] = sum_{n, oh, ow} x[n, oh*s + kh, ow*s + kw, ci] * dy[n, oh, ow, co]` is
 * itself a convolution once the batch axis plays the role of channels: with `x` transposed to `[ci, h, w, n]` and
 * `dy` to `[oh, ow, n, co]` used as the filter, a stride-1 convolution dilated by the forward stride gives
 * `[ci, kh', kw', co]`, from which the first `kh x kw` positions are the gradient. That convolution runs on the
 * backend's own `Conv2D` kernel (XNNPACK), so the whole gradient is one fast GEMM plus three transposes.
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
