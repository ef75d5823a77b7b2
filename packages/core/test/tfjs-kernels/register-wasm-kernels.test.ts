import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConvAutoencoder, ConvAutoencoderV2, loadTorchWeights, type Autoencoder } from 'cbir-core';
import { WASM_TRAINING_KERNELS, registerWasmTrainingKernels } from 'cbir-core/compute';
import { useBackend } from '../helpers/backends.js';
import { formulaSafetensors } from '../helpers/formula-weights.js';
import { relativeError, values } from '../helpers/kernel-compare.js';

/** Loss and gradients of one MSE training step on `backend`, from formula weights and a fixed batch. */
async function step(backend: 'cpu' | 'wasm', make: () => Autoencoder, batch: number) {
  await useBackend(backend);
  const ae = make();
  loadTorchWeights(ae, formulaSafetensors(ae));
  const s = ae.inputSize;
  const x = tf.tensor4d(values([batch, s, s, 3], 7), [batch, s, s, 3]);
  const before = tf.memory().numTensors;
  const { value, grads } = tf.variableGrads(
    () => tf.losses.meanSquaredError(x, ae.model.apply(x) as tf.Tensor) as tf.Scalar,
  );
  // Variable names get per-instance suffixes; the model's weight order is the same on both backends.
  const order = ae.model.trainableWeights.map((w) => w.name);
  const out = {
    loss: value.dataSync()[0],
    grads: order.map((name) => ({ name, data: grads[name].dataSync() as Float32Array })),
  };
  tf.dispose([value, ...Object.values(grads)]);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  ae.dispose();
  return out;
}

describe('registerWasmTrainingKernels', () => {
  beforeAll(() => registerWasmTrainingKernels());

  it('is idempotent and reports what it registered', () => {
    expect(registerWasmTrainingKernels()).toEqual(WASM_TRAINING_KERNELS.map((k) => k.kernelName));
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
  });

  it.each([
    ['ConvAutoencoder', () => new ConvAutoencoder({ inputSize: 68 }), 4, 10],
    ['ConvAutoencoderV2', () => new ConvAutoencoderV2({ inputSize: 32 }), 2, 28],
  ] as const)(
    'a whole training step of %s gives the same loss and gradients on wasm as on cpu',
    async (_, make, batch, tensors) => {
      const cpu = await step('cpu', make, batch);
      const wasm = await step('wasm', make, batch);
      expect(Math.abs(wasm.loss - cpu.loss) / cpu.loss).toBeLessThanOrEqual(1e-5);
      expect(wasm.grads.length).toBe(cpu.grads.length);
      expect(cpu.grads.length).toBe(tensors);
      cpu.grads.forEach((g, i) => expect(relativeError(wasm.grads[i].data, g.data), g.name).toBeLessThanOrEqual(1e-4));
    },
  );
});
