import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { CONV_CASES, outSize } from './conv-cases.js';
import { convSimdTesting } from '../../helpers/internal.js';

describe("wasm Conv2DBackpropInput on cbir's SIMD kernels equals the cpu kernel", () => {
  // Every shape on the SIMD kernel (XNNPACK's path is checked in conv2d.test.ts).
  beforeAll(() => {
    registerWasmTrainingKernels();
    convSimdTesting.always = true;
  });
  afterAll(() => {
    convSimdTesting.always = false;
  });

  it.each(CONV_CASES)('$name', async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const runs = convSimdTesting.runs;
    const { cpu, wasm } = await onBothBackends(
      'Conv2DBackpropInput',
      { dy: { shape: dyShape, data: values(dyShape, 3) }, filter: { shape: c.filter, data: values(c.filter, 4) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
    );
    expect(convSimdTesting.runs, 'runs on the SIMD kernel').toBeGreaterThan(runs);
    expect(wasm.shape).toEqual(c.x);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
  });
});
