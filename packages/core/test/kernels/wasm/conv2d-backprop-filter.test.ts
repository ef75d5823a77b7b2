import { describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { CONV_CASES, CONV_PATHS, outSize, useConvPath } from './conv-cases.js';

// On 'xnnpack', the filter gradient is a convolution with the batch as channels on XNNPACK's Conv2D.
describe.each(CONV_PATHS)('wasm Conv2DBackpropFilter on %s equals the cpu kernel', (path) => {
  useConvPath(path);

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
