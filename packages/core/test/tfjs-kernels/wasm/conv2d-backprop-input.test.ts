import { describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { CONV_CASES, CONV_PATHS, outSize, useConvPath } from './conv-cases.js';

describe.each(CONV_PATHS)('wasm Conv2DBackpropInput on %s equals the cpu kernel', (path) => {
  useConvPath(path);

  it.each(CONV_CASES)('$name', async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const { cpu, wasm } = await onBothBackends(
      'Conv2DBackpropInput',
      { dy: { shape: dyShape, data: values(dyShape, 3) }, filter: { shape: c.filter, data: values(c.filter, 4) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
    );
    expect(wasm.shape).toEqual(c.x);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
  });
});
