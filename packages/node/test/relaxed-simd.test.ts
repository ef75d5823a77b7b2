import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from 'cbir-node';
import { simdKernelsAreRelaxed } from 'cbir-core/compute';
import { onBothBackends, relativeError, values } from '../../core/test/helpers/kernel-compare.js';
import { convSimdTesting } from '../../core/test/helpers/internal.js';

// cbir-node turns WebAssembly relaxed SIMD on as it loads (a flag in Node 20), so its kernels compile to the relaxed
// build, whose convolutions fuse their multiply-adds. Its convolutions and gradients equal the cpu backend's to
// float32 tolerance, as the plain build's do (packages/core/test/tfjs-kernels, which run without cbir-node).
describe('the relaxed-SIMD kernels under cbir-node', () => {
  const CASES = [
    { name: 'Winograd 3x3 s1 same', x: [2, 12, 11, 16], filter: [3, 3, 16, 24], strides: [1, 1], pad: 'same' },
    { name: 'direct 3x3 s2 same', x: [2, 13, 12, 8], filter: [3, 3, 8, 16], strides: [2, 2], pad: 'same' },
    { name: 'direct 4x4 s2 valid', x: [2, 10, 10, 6], filter: [4, 4, 6, 8], strides: [2, 2], pad: 'valid' },
  ];

  // Every convolution on cbir's kernels, however small.
  beforeAll(() => {
    convSimdTesting.always = true;
  });
  afterAll(() => {
    convSimdTesting.always = false;
  });

  it('load: the relaxed build is the one compiled', async () => {
    await initNodeBackend({ prefer: ['wasm'] });
    expect(tf.getBackend()).toBe('wasm');
    expect(simdKernelsAreRelaxed()).toBe(true);
  });

  it.each(CASES)('$name: the convolution and both gradients equal the cpu backend', async (c) => {
    await initNodeBackend({ prefer: ['wasm'] });
    const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
    const x = { shape: c.x, data: values(c.x, 21) };
    const filter = { shape: c.filter, data: values(c.filter, 22) };
    const runs = convSimdTesting.runs;
    const conv = await onBothBackends('Conv2D', { x, filter }, { ...common, dilations: [1, 1] });
    expect(relativeError(conv.wasm.data, conv.cpu.data)).toBeLessThanOrEqual(1e-4);
    const dy = { shape: conv.cpu.shape, data: values(conv.cpu.shape, 23) };
    const dw = await onBothBackends('Conv2DBackpropFilter', { x, dy }, { ...common, filterShape: c.filter });
    expect(relativeError(dw.wasm.data, dw.cpu.data)).toBeLessThanOrEqual(1e-4);
    const dx = await onBothBackends('Conv2DBackpropInput', { dy, filter }, { ...common, inputShape: c.x });
    expect(relativeError(dx.wasm.data, dx.cpu.data)).toBeLessThanOrEqual(1e-4);
    expect(convSimdTesting.runs - runs).toBeGreaterThanOrEqual(3); // all three on cbir's kernels
  });
});
