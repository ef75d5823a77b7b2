import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core';
import { useBackend } from '../../helpers/backends.js';

// ReLU's gradient in one kernel, and Identity without a copy: the same values as tfjs's own, NaN and signed zeros
// included, and no tensor or buffer left behind.
describe('wasm Identity and ReLU gradient', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
  });
  afterAll(() => useBackend('cpu'));

  it('Identity shares the data and counts it: the clone outlives its source, and both free it', () => {
    const tensors = tf.memory().numTensors;
    const buffers = tf.engine().backend.numDataIds();
    const x = tf.tensor1d([1, -2, 3.5]);
    const y = tf.clone(x);
    expect(tf.engine().backend.numDataIds()).toBe(buffers + 1); // shared, not copied
    x.dispose();
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3.5]);
    y.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
  });

  it("equals tfjs's gradient (dy * step(x)) on the cpu backend, for zeros, signed zeros and NaN", async () => {
    const xs = [2, -1, 0, -0, 0.5, NaN, -3, 1e-30, -1e-30, 7];
    const dys = [1.5, 2, 3, -4, -0.25, 1, NaN, 2, 5, -0];
    const grad = async (backend: 'cpu' | 'wasm') => {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor1d(xs);
      const dy = tf.tensor1d(dys);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), dy)))(x);
      const out = Array.from(g.dataSync());
      tf.dispose([x, dy, g]);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const cpu = await grad('cpu');
    const wasm = await grad('wasm');
    expect(wasm.map((v) => (Object.is(v, -0) ? '-0' : String(v)))).toEqual(
      cpu.map((v) => (Object.is(v, -0) ? '-0' : String(v))),
    );
    // And the kernel ran: tfjs's formula would have called Step.
    const x = tf.tensor1d(xs);
    const { kernels } = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(tf.relu(v)))(x));
    x.dispose();
    expect(kernels.map((k) => k.name)).toContain('CbirReluGrad');
    expect(kernels.map((k) => k.name)).not.toContain('Step');
  });
});
