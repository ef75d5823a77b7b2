import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { fuseReluWhileTraining } from '../../src/models/fused-conv-relu.js';
import { useBackend } from '../helpers/backends.js';
import { relativeError, values } from '../helpers/kernel-compare.js';

// A Conv2D layer with a ReLU trains through one fused operation (forward kernel with bias and ReLU, a registered
// gradient): its output and the gradients of input, kernel and bias equal those of tfjs's unfused path.
describe('fuseReluWhileTraining', () => {
  afterAll(() => useBackend('cpu'));

  it.each([
    ['cpu', 'same', 1],
    ['cpu', 'valid', 2],
    ['wasm', 'same', 1],
    ['wasm', 'valid', 2],
  ] as const)(
    'on %s, padding %s, stride %i: the same values and gradients as the unfused layer',
    async (backend, padding, stride) => {
      registerWasmTrainingKernels();
      await useBackend(backend);
      const make = () => tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: stride, padding, activation: 'relu' });
      const plain = make();
      const fused = make();
      fuseReluWhileTraining(fused);
      const x = tf.tensor4d(values([2, 9, 9, 4], 3), [2, 9, 9, 4]);
      plain.build(x.shape);
      fused.build(x.shape);
      fused.setWeights(plain.getWeights());
      const before = tf.memory().numTensors;
      const run = (layer: tfl.layers.Layer) => {
        // A loss whose gradient differs from pixel to pixel.
        const f = (input: tf.Tensor) => tf.sum(tf.square(tf.sub(layer.apply(input) as tf.Tensor, 0.1)));
        const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar);
        const dx = tf.grad(f)(x);
        const out = {
          value: value.dataSync()[0],
          grads: Object.values(grads).map((g) => g.dataSync() as Float32Array),
          dx: dx.dataSync() as Float32Array,
        };
        tf.dispose([value, dx, ...Object.values(grads)]);
        return out;
      };
      const a = run(plain);
      const b = run(fused);
      expect(tf.memory().numTensors).toBe(before);
      expect(Math.abs(b.value - a.value)).toBeLessThanOrEqual(1e-5 * Math.abs(a.value));
      expect(b.grads).toHaveLength(2);
      b.grads.forEach((g, i) => expect(relativeError(g, a.grads[i])).toBeLessThanOrEqual(1e-5));
      expect(relativeError(b.dx, a.dx)).toBeLessThanOrEqual(1e-5);
      // Outside gradients the layer is tfjs's (FusedConv2D with the ReLU); inside, one kernel and no Relu/Add/Step.
      const { kernels } = await tf.profile(() =>
        tf.grad((input: tf.Tensor) => tf.sum(fused.apply(input) as tf.Tensor))(x),
      );
      const names = kernels.map((k) => k.name);
      expect(names).toContain('FusedConv2D');
      for (const unfused of ['Relu', 'Add', 'Conv2D']) expect(names).not.toContain(unfused);
      if (backend === 'wasm') expect(names).toContain('CbirReluGrad');
      else expect(names).toContain('Step'); // tfjs's formula where cbir's kernel is not registered
      expect(names).toContain('Conv2DBackpropInput');
      // Only the gradients the tape asks for: with no variable below the layer, no input gradient, and nothing left.
      const held = tf.memory().numTensors;
      const weightsOnly = await tf.profile(() => {
        const r = tf.variableGrads(() => tf.sum(fused.apply(x) as tf.Tensor) as tf.Scalar);
        tf.dispose([r.value, ...Object.values(r.grads)]);
      });
      const weightKernels = weightsOnly.kernels.map((k) => k.name);
      expect(weightKernels).toContain('Conv2DBackpropFilter');
      expect(weightKernels).not.toContain('Conv2DBackpropInput');
      expect(tf.memory().numTensors).toBe(held);
      x.dispose();
      // (Layers used outside a model have no reference count to dispose by: free their weights.)
      for (const w of [...plain.weights, ...fused.weights]) w.dispose();
    },
  );
});
