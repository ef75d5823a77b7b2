import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { useBackend } from '../../helpers/backends.js';
import { HEAP_CHUNK, heapKernels, heapKernelsTesting } from '../../helpers/internal.js';

// ReLU's gradient in one kernel, and Identity without a copy: the same values as tfjs's own, NaN and signed zeros
// included, and no tensor or buffer left behind.
describe('wasm Identity and ReLU gradient', () => {
  beforeAll(async () => {
    registerWasmTrainingKernels();
    await useBackend('wasm');
  });
  afterAll(() => {
    heapKernelsTesting.enabled = true;
    return useBackend('cpu');
  });

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

  it.each([
    ['in place in tfjs memory', true],
    ["on cbir's kernels' memory", false],
  ])(
    "equals tfjs's gradient (dy * step(x)) on the cpu backend, for zeros, signed zeros and NaN (%s)",
    async (_, heap) => {
      heapKernelsTesting.enabled = heap;
      await useBackend('wasm');
      expect(heapKernels(tf.backend()) !== undefined).toBe(heap);
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
    },
  );

  it('in place, chunk by chunk, equals the threads on copies for a gradient of several chunks', async () => {
    await useBackend('wasm');
    const n = 2 * HEAP_CHUNK + 7;
    const x = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37)));
    const dy = tf.tensor1d(Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.11)));
    const run = (heap: boolean) => {
      heapKernelsTesting.enabled = heap;
      const g = tf.engine().runKernel('CbirReluGrad', { dy, x }) as tf.Tensor;
      const out = g.dataSync().slice();
      g.dispose();
      return out;
    };
    const inPlace = run(true);
    const copied = run(false);
    heapKernelsTesting.enabled = true;
    expect(inPlace.filter((v) => v !== 0).length).toBeGreaterThan(n / 3);
    expect(inPlace).toEqual(copied);
    tf.dispose([x, dy]);
  });
});
