import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { CONV_CASES, outSize } from './conv-cases.js';
import { convSimdTesting, setProductEngine } from '../../helpers/internal.js';

describe('wasm Conv2DBackpropFilter equals the cpu kernel', () => {
  beforeAll(() => registerWasmTrainingKernels());

  it.each(CONV_CASES)('$name', async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const runs = convSimdTesting.runs;
    const { cpu, wasm } = await onBothBackends(
      'Conv2DBackpropFilter',
      { x: { shape: c.x, data: values(c.x, 1) }, dy: { shape: dyShape, data: values(dyShape, 2) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
    );
    expect(convSimdTesting.runs, "runs on cbir's SIMD kernel").toBeGreaterThan(runs);
    expect(wasm.shape).toEqual(c.filter);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
  });
});

describe('without WebAssembly SIMD, wasm Conv2DBackpropFilter (a convolution on XNNPACK) equals the cpu kernel', () => {
  beforeAll(() => {
    registerWasmTrainingKernels();
    setProductEngine('js');
  });
  afterAll(() => setProductEngine(undefined));

  it.each(CONV_CASES)('$name', async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const runs = convSimdTesting.runs;
    const { cpu, wasm } = await onBothBackends(
      'Conv2DBackpropFilter',
      { x: { shape: c.x, data: values(c.x, 21) }, dy: { shape: dyShape, data: values(dyShape, 22) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
    );
    expect(convSimdTesting.runs, 'no run on the SIMD kernel').toBe(runs);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
  });
});
