import * as tf from '@tensorflow/tfjs-core';
import { CbirError } from '../errors.js';
import type { Autoencoder } from '../models/autoencoder.js';

/** How much tensor memory a training step may take on the active backend (see {@link chooseMicroBatch}). */
export interface MemoryLimits {
  /** Bytes the tensors of one forward and backward pass may hold at their peak. */
  budgetBytes: number;
  /**
   * The largest single tensor the backend can hold, in bytes (WebGPU's `maxStorageBufferBindingSize`).
   * @defaultValue no limit
   */
  maxTensorBytes?: number;
}

/**
 * Tensor memory for a training step on each tfjs backend. wasm: its heap holds 4 GiB at most and only grows; a V2
 * step at 512 px measured 1.4, 2.2 and 2.9 GiB of heap for micro-batches of 2, 3 and 4 images, so 3 GiB of estimate
 * (3 images) leaves room. webgpu: WebGPU does not say how much memory a device has; 8 GiB is less than any GPU meant
 * for training has, and no tensor may exceed the device's largest storage buffer. tensorflow: 8 GiB of host or
 * device memory. Others (cpu, webgl): 4 GiB.
 */
const BACKEND_MEMORY: Record<string, number> = { wasm: 3 * 2 ** 30, webgpu: 8 * 2 ** 30, tensorflow: 8 * 2 ** 30 };
const OTHER_BACKEND_MEMORY = 4 * 2 ** 30;

/**
 * The memory a training step may take on the active tfjs backend (or `backend`): what {@link trainAutoencoder} and
 * `cbir train` choose their micro-batch by. On webgpu, the device's largest storage buffer bounds each tensor.
 *
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * backendMemory();   // { budgetBytes: 3221225472 }: 3 GiB of the wasm heap's 4
 * ```
 */
export function backendMemory(backend: string = tf.getBackend()): MemoryLimits {
  const limits: MemoryLimits = { budgetBytes: BACKEND_MEMORY[backend] ?? OTHER_BACKEND_MEMORY };
  if (backend === 'webgpu') {
    const device = (tf.findBackend('webgpu') as { device?: { limits?: { maxStorageBufferBindingSize?: number } } })
      ?.device;
    const most = device?.limits?.maxStorageBufferBindingSize;
    if (most) limits.maxTensorBytes = most;
  }
  return limits;
}

/**
 * Peak tensor bytes per image of a training step, over the sum of every layer's output, measured with `tf.profile` on
 * the wasm backend and rounded up so that a step chosen to fit does: V2 2.25 (64 to 256 px: the forward pass keeps
 * each output for the backward pass, which adds one gradient of each size in turn); V1 4.7 at 68 px (its transposed
 * convolutions' stride-2 inputs, dilated, outweigh its small outputs). Other architectures take the larger factor.
 */
const PEAK_OVER_ACTIVATIONS: Record<string, number> = { ConvAutoencoderV2: 2.5, ConvAutoencoder: 5 };
const PEAK_OVER_ACTIVATIONS_OTHERS = 5;

/** Bytes of every layer's output for one image, the input included (float32). */
function activationBytes(model: Autoencoder): { sum: number; largest: number } {
  let sum = model.inputSize ** 2 * 3;
  let largest = sum;
  for (const { outputShape } of model.summary()) {
    const n = outputShape[0] * outputShape[1] * outputShape[2];
    sum += n;
    largest = Math.max(largest, n);
  }
  return { sum: sum * 4, largest: largest * 4 };
}

/**
 * The peak tensor memory of one training step per image (forward and backward), an upper estimate: for
 * ConvAutoencoderV2 about 53 MiB at 128 px and 855 MiB at 512 px.
 *
 * @example
 * ```ts
 * trainingBytesPerImage(new ConvAutoencoderV2({ inputSize: 512 })) / 2 ** 20;   // 855 (MiB)
 * ```
 */
export function trainingBytesPerImage(model: Autoencoder): number {
  const factor = PEAK_OVER_ACTIVATIONS[model.architecture.name] ?? PEAK_OVER_ACTIVATIONS_OTHERS;
  return Math.ceil(activationBytes(model).sum * factor);
}

/**
 * The micro-batch a training step of `batchSize` images runs in: the most images whose forward and backward pass fit
 * `limits`, evened out so that the micro-batches of a step are as equal as possible (32 with room for 12 runs as
 * 11 + 11 + 10). The step's gradient is the same whatever the micro-batch (see {@link mseGradients}).
 *
 * @returns A number from 1 to `batchSize`; 1 when even one image exceeds the limits (it may still fit: the estimate is
 * an upper one).
 *
 * @example
 * ```ts
 * const ae = new ConvAutoencoderV2({ inputSize: 512 });
 * chooseMicroBatch(ae, 32, { budgetBytes: 3 * 2 ** 30 });   // 3: 11 passes of 3 (the last 2) in a 4 GiB wasm heap
 * ```
 */
export function chooseMicroBatch(model: Autoencoder, batchSize: number, limits: MemoryLimits): number {
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `chooseMicroBatch: batchSize must be a positive integer, got ${batchSize}.`,
    );
  if (!(limits.budgetBytes > 0))
    throw new CbirError(
      'INVALID_ARGUMENT',
      `chooseMicroBatch: budgetBytes must be positive, got ${limits.budgetBytes}.`,
    );
  const { largest } = activationBytes(model);
  let fit = Math.floor(limits.budgetBytes / trainingBytesPerImage(model));
  if (limits.maxTensorBytes !== undefined) fit = Math.min(fit, Math.floor(limits.maxTensorBytes / largest));
  fit = Math.max(1, Math.min(batchSize, fit));
  return Math.ceil(batchSize / Math.ceil(batchSize / fit));
}

/**
 * The notebook's loss on one batch, `MSELoss()(model(x), x)` (the mean over every pixel and channel of the batch),
 * and its gradients with respect to `vars`, computed `microBatch` images at a time. Each micro-batch's loss is
 * weighted by its share of the batch and the gradients are summed, so the result is the whole batch's to float
 * rounding whatever `microBatch` is: a batch of 32 at 512 px trains within a 4 GiB heap. Reads nothing back from the
 * backend (WebGPU in Node has no synchronous reads): the caller reads `loss` with `await loss.data()` and disposes
 * `loss` and `grads`.
 *
 * @param x - NHWC images in [-1, 1], shape `[n, inputSize, inputSize, 3]`.
 * @param options - `vars`: the variables to differentiate (default: the model's trainable weights, in order);
 * `microBatch`: images per forward and backward pass (default: all of `x`).
 *
 * @example
 * ```ts
 * const { loss, grads } = mseGradients(model, x, { microBatch: 4 });   // grads in trainable-weight order
 * console.log((await loss.data())[0]);
 * tf.dispose([loss, ...grads]);
 * ```
 */
export function mseGradients(
  model: Autoencoder,
  x: tf.Tensor4D,
  options: { vars?: tf.Variable[]; microBatch?: number } = {},
): { loss: tf.Scalar; grads: tf.Tensor[] } {
  const vars = options.vars ?? model.model.trainableWeights.map((w) => w.read() as tf.Variable);
  const n = x.shape[0];
  const micro = options.microBatch ?? n;
  if (!(Number.isInteger(micro) && micro >= 1))
    throw new CbirError('INVALID_ARGUMENT', `mseGradients: microBatch must be a positive integer, got ${micro}.`);
  let total: tf.Tensor[] | undefined;
  for (let start = 0; start < n; start += micro) {
    const count = Math.min(micro, n - start);
    const part = tf.tidy(() => {
      const xs = count === n ? x : tf.slice(x, [start, 0, 0, 0], [count, -1, -1, -1]);
      const { value, grads } = tf.variableGrads(() => {
        const loss = tf.losses.meanSquaredError(xs, model.model.apply(xs, { training: true }) as tf.Tensor);
        // The mean over the batch is the micro-batches' means weighted by their share of it.
        return (count === n ? loss : tf.mul(loss, count / n)) as tf.Scalar;
      }, vars);
      return [value, ...vars.map((v) => grads[v.name])];
    });
    if (!total) total = part;
    else {
      const sum: tf.Tensor[] = tf.tidy(() => total!.map((t, i) => tf.add(t, part[i])));
      tf.dispose([...total, ...part]);
      total = sum;
    }
  }
  if (!total) throw new CbirError('INVALID_ARGUMENT', 'mseGradients: the batch is empty.');
  return { loss: total[0] as tf.Scalar, grads: total.slice(1) };
}
