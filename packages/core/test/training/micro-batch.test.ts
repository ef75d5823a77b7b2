import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConvAutoencoder,
  ConvAutoencoderV2,
  backendMemory,
  chooseMicroBatch,
  mseGradients,
  trainingBytesPerImage,
} from 'cbir-core';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { BACKENDS, useBackend } from '../helpers/backends.js';
import { maxAbsDiff } from '../helpers/fixtures.js';

const MiB = 2 ** 20;

describe('chooseMicroBatch', () => {
  beforeAll(() => useBackend('cpu'));

  it('takes the most images that fit, evened out over the step, and at least one', () => {
    const ae = new ConvAutoencoderV2({ inputSize: 128 });
    const per = trainingBytesPerImage(ae);
    expect(chooseMicroBatch(ae, 32, { budgetBytes: 40 * per })).toBe(32);
    expect(chooseMicroBatch(ae, 32, { budgetBytes: 12.5 * per })).toBe(11); // 12 fit: 11 + 11 + 10
    expect(chooseMicroBatch(ae, 32, { budgetBytes: 8 * per })).toBe(8);
    expect(chooseMicroBatch(ae, 32, { budgetBytes: per / 2 })).toBe(1);
    // The largest tensor is the first convolution's output: 128 x 128 x 64 floats, 4 MiB an image.
    expect(chooseMicroBatch(ae, 32, { budgetBytes: 40 * per, maxTensorBytes: 16 * MiB })).toBe(4);
    expect(() => chooseMicroBatch(ae, 0, { budgetBytes: per })).toThrow(/batchSize must be a positive integer, got 0/);
    expect(() => chooseMicroBatch(ae, 8, { budgetBytes: 0 })).toThrow(/budgetBytes must be positive, got 0/);
    ae.dispose();
  });

  it('gives each backend its memory: the wasm heap 3 GiB of its 4, webgpu 8 GiB, others 4 GiB', () => {
    expect(backendMemory()).toEqual({ budgetBytes: 4 * 2 ** 30 }); // cpu, active here
    expect(backendMemory('wasm')).toEqual({ budgetBytes: 3 * 2 ** 30 });
    // No webgpu backend in this process: no device, so no largest buffer to bound tensors by.
    expect(backendMemory('webgpu')).toEqual({ budgetBytes: 8 * 2 ** 30 });
  });

  it('estimates V2 at 512 px so that the micro-batch fits the wasm heap as measured (3 images: 2.2 GiB; 8: over 4)', () => {
    const ae = new ConvAutoencoderV2({ inputSize: 512 });
    // The sum of the layers' outputs at 512 px is 342 MiB; the estimate is 2.5 times that.
    expect(trainingBytesPerImage(ae) / MiB).toBeCloseTo(855.5, 0);
    expect(chooseMicroBatch(ae, 32, { budgetBytes: 3 * 2 ** 30 })).toBe(3);
    ae.dispose();
  });
});

describe('the memory estimate on wasm', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
  });
  afterAll(() => useBackend('cpu'));

  it("bounds a training step's measured peak tensor memory (tf.profile) per image from above, within 2x", async () => {
    for (const ae of [
      new ConvAutoencoderV2({ inputSize: 64, seed: 1 }),
      new ConvAutoencoder({ inputSize: 68, seed: 1 }),
    ]) {
      const peak = async (n: number) => {
        const x = tf.randomUniform([n, ae.inputSize, ae.inputSize, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
        const p = await tf.profile(() => {
          const { loss, grads } = mseGradients(ae, x);
          return [loss, ...grads];
        });
        tf.dispose([x, ...(p.result as tf.Tensor[])]);
        return p.peakBytes;
      };
      // Per image: what two more images add, so that the weights and their gradients cancel out.
      const perImage = ((await peak(4)) - (await peak(2))) / 2;
      const estimate = trainingBytesPerImage(ae);
      expect(estimate, ae.architecture.name).toBeGreaterThanOrEqual(perImage);
      expect(estimate, ae.architecture.name).toBeLessThanOrEqual(2 * perImage);
      ae.dispose();
    }
  });
});

describe.each(BACKENDS)('mseGradients on %s', (backend) => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend(backend);
  });
  afterAll(() => useBackend('cpu'));

  it('gives the same loss and gradients in any micro-batch, and checks its argument', async () => {
    const ae = new ConvAutoencoder({ inputSize: 32, seed: 2 });
    const x = tf.randomUniform([5, 32, 32, 3], -1, 1, 'float32', 9) as tf.Tensor4D;
    const read = async (m?: number) => {
      const { loss, grads } = mseGradients(ae, x, { microBatch: m });
      const out = [await loss.data(), ...(await Promise.all(grads.map((g) => g.data())))] as Float32Array[];
      tf.dispose([loss, ...grads]);
      return out;
    };
    const before = tf.memory().numTensors;
    const whole = await read();
    for (const m of [1, 2, 4, 5, 9]) {
      const got = await read(m);
      got.forEach((g, i) => {
        const scale = Math.max(...Array.from(whole[i], Math.abs));
        expect(maxAbsDiff(g, whole[i]) / scale, `micro-batch ${m}, tensor ${i}`).toBeLessThan(1e-5);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => mseGradients(ae, x, { microBatch: 0 })).toThrow(/microBatch must be a positive integer, got 0/);
    x.dispose();
    ae.dispose();
  });
});
