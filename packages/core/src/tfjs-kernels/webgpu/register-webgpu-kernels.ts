import * as tf from '@tensorflow/tfjs-core';

/** What cbir uses of tfjs's `WebGPUBackend` (cbir-core does not depend on @tensorflow/tfjs-backend-webgpu). */
interface WebGpuBackendLike {
  runWebGPUProgram(
    program: Program,
    inputs: tf.TensorInfo[],
    dtype: 'float32',
    uniforms: { type: 'int32'; data: number[] }[],
  ): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}

/**
 * Threads the filter gradient aims to keep busy. tfjs's own kernel runs one thread per filter weight, each summing over
 * every output pixel of the batch: V2's first layer has 1,728 weights, so at 512 px, batch 32, 1,728 threads each sum
 * 8.4 M products in turn (a GPU with 132 multiprocessors runs 270,000 at once). Splitting the sum over the batch's
 * rows into this many threads in all, then adding the parts, keeps a large GPU full.
 */
const TARGET_THREADS = 1 << 18;

/** The program interface tfjs's webgpu backend compiles (`WebGPUProgram`, not exported by the package). */
interface Program {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms: string;
  size: boolean;
  /** Values per element of `result` (a `vec4` array when 4). */
  outputComponent?: number;
  /** Values per element of each input array. */
  variableComponents?: number[];
  getUserCode(): string;
}

/** A flat program over `outputShape`: one thread per output element, 64 to a workgroup (tfjs's own layout). */
function flat(program: Omit<Program, 'dispatchLayout' | 'dispatch' | 'workgroupSize' | 'size'>): Program {
  const size = program.outputShape.reduce((a, b) => a * b, 1) / (program.outputComponent ?? 1);
  const groups = Math.ceil(size / 64);
  // WebGPU allows at most 65,535 workgroups along a dimension: spread the rest over y (tfjs's computeDispatch does so).
  const x = Math.min(groups, 65535);
  return {
    ...program,
    dispatchLayout: { x: program.outputShape.map((_, i) => i) },
    dispatch: [x, Math.ceil(groups / x), 1],
    workgroupSize: [64, 1, 1],
    size: true,
  };
}

/**
 * `dW[kh, kw, ci, co] = sum over (n, oh, ow) of x[n, oh*s + kh - pad, ow*s + kw - pad, ci] * dy[n, oh, ow, co]`, as
 * `splits` partial sums over ranges of the batch's output rows (`[splits, weights]`). Each thread sums `vec` (4 or 1)
 * adjacent output channels: one `x` value against a `vec4` of `dy` (4 products per 2 loads); adjacent threads hold
 * adjacent channels, so their `dy` reads are contiguous and their `x` reads one address.
 */
function partialsProgram(filterShape: number[], splits: number, vec: 1 | 4): Program {
  const weights = filterShape.reduce((a, b) => a * b, 1);
  const T = vec === 4 ? 'vec4<f32>' : 'f32';
  return flat({
    variableNames: ['x', 'dy'],
    // One split is the gradient itself.
    outputShape: splits === 1 ? filterShape : [splits, weights],
    outputComponent: vec,
    variableComponents: [1, vec],
    shaderKey: `cbirConv2DDerFilterPartials${vec}`,
    uniforms:
      'pads : vec2<i32>, strides : vec2<i32>, batchSize : i32, outHeight : i32, outWidth : i32, inHeight : i32, ' +
      'inWidth : i32, inChannels : i32, outChannels : i32, filterWidth : i32, weights : i32, rowsPerSplit : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        let perSplit = uniforms.weights / ${vec};
        let split = index / perSplit;
        let k = (index - split * perSplit) * ${vec};
        let d2 = k % uniforms.outChannels;
        var t = k / uniforms.outChannels;
        let d1 = t % uniforms.inChannels;
        t = t / uniforms.inChannels;
        let wC = t % uniforms.filterWidth;
        let wR = t / uniforms.filterWidth;
        let rows = uniforms.batchSize * uniforms.outHeight;
        let r0 = split * uniforms.rowsPerSplit;
        let r1 = min(rows, r0 + uniforms.rowsPerSplit);
        var acc = ${T}(0.0);
        for (var r = r0; r < r1; r = r + 1) {
          let b = r / uniforms.outHeight;
          let yR = r - b * uniforms.outHeight;
          let xR = wR + yR * uniforms.strides[0] - uniforms.pads[0];
          if (xR < 0 || xR >= uniforms.inHeight) { continue; }
          let xRow = (b * uniforms.inHeight + xR) * uniforms.inWidth;
          let dyRow = r * uniforms.outWidth;
          for (var yC = 0; yC < uniforms.outWidth; yC = yC + 1) {
            let xC = wC + yC * uniforms.strides[1] - uniforms.pads[1];
            if (xC < 0 || xC >= uniforms.inWidth) { continue; }
            acc = acc + x[(xRow + xC) * uniforms.inChannels + d1] * dy[((dyRow + yC) * uniforms.outChannels + d2) / ${vec}];
          }
        }
        result[index] = acc;
      }`,
  });
}

/** The sum over the first axis of `[splits, weights]` partial sums, in order: the filter gradient. */
function sumPartsProgram(filterShape: number[]): Program {
  return flat({
    variableNames: ['parts'],
    outputShape: filterShape,
    shaderKey: 'cbirConv2DDerFilterSum',
    uniforms: 'splits : i32,',
    getUserCode: () => `
      fn main(index : i32) {
        if (index >= uniforms.size) { return; }
        var acc = 0.0;
        for (var s = 0; s < uniforms.splits; s = s + 1) {
          acc = acc + parts[s * uniforms.size + index];
        }
        result[index] = acc;
      }`,
  });
}

/** The number of partial sums a filter gradient of `weights` values over `rows` output rows is split into. */
export function filterGradSplits(threads: number, rows: number): number {
  return Math.max(1, Math.min(rows, Math.ceil(TARGET_THREADS / threads)));
}

/** `Conv2DBackpropFilter` on webgpu as split partial sums (see {@link TARGET_THREADS}), NHWC only. */
function conv2DBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WebGpuBackendLike;
  const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dimRoundingMode, filterShape } = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const weights = info.filterShape.reduce((a, b) => a * b, 1);
  const rows = info.batchSize * info.outHeight;
  const vec = info.outChannels % 4 === 0 ? 4 : 1;
  const splits = filterGradSplits(weights / vec, rows);
  const rowsPerSplit = Math.ceil(rows / splits);
  const used = Math.ceil(rows / rowsPerSplit);
  const ints = (...data: number[]) => ({ type: 'int32' as const, data });
  const parts = backend.runWebGPUProgram(partialsProgram(info.filterShape, used, vec), [x, dy], 'float32', [
    ints(info.padInfo.top, info.padInfo.left),
    ints(info.strideHeight, info.strideWidth),
    ints(info.batchSize),
    ints(info.outHeight),
    ints(info.outWidth),
    ints(info.inHeight),
    ints(info.inWidth),
    ints(info.inChannels),
    ints(info.outChannels),
    ints(info.filterWidth),
    ints(weights),
    ints(rowsPerSplit),
  ]);
  if (used === 1) return parts;
  const out = backend.runWebGPUProgram(sumPartsProgram(info.filterShape), [parts], 'float32', [ints(used)]);
  backend.disposeData(parts.dataId);
  return out;
}

/** The webgpu kernels {@link registerWebGpuTrainingKernels} replaces. */
export const WEBGPU_TRAINING_KERNELS = ['Conv2DBackpropFilter'] as const;

let registered = false;

/**
 * Replaces tfjs's webgpu kernels where they leave a GPU idle: `Conv2DBackpropFilter`, which tfjs runs as one thread
 * per filter weight, as split partial sums over the batch's rows that fill a large GPU, 4 output channels a thread.
 * Checked against a float64 oracle and, through whole training steps, against PyTorch (`pnpm test:gpu`, on lavapipe).
 * On lavapipe, V2's filter gradients at 64 px, batch 4, took 1.9-2.2 s a step instead of 4.6-5.4. Call it before
 * training on webgpu (cbir-node's and cbir-browser's backend choice do); calling it again does nothing.
 *
 * @example
 * ```ts
 * import '@tensorflow/tfjs-backend-webgpu';
 * registerWebGpuTrainingKernels();
 * await tf.setBackend('webgpu');
 * ```
 */
export function registerWebGpuTrainingKernels(): void {
  if (registered) return;
  tf.unregisterKernel('Conv2DBackpropFilter', 'webgpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'webgpu', kernelFunc: conv2DBackpropFilter });
  registered = true;
}
