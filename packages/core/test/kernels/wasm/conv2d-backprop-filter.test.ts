import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { CONV_CASES, outSize } from './conv-cases.js';

describe('wasm Conv2DBackpropFilter equals the cpu kernel', () => {
  beforeAll(() => registerWasmTrainingKernels());

  it.each(CONV_CASES)('$name', async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const { cpu, wasm } = await onBothBackends(
      'Conv2DBackpropFilter',
      { x: { shape: c.x, data: values(c.x, 1) }, dy: { shape: dyShape, data: values(dyShape, 2) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter },
    );
    expect(wasm.shape).toEqual(c.filter);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
  });
});
