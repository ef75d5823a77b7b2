import { describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { convSimdTesting } from '../../helpers/internal.js';
import { phasesApart } from '../../../src/tfjs-kernels/wasm/conv2d-backprop-input.js';
import { CONV_CASES, CONV_PATHS, outSize, useConvPath } from './conv-cases.js';

describe.each(CONV_PATHS)('wasm Conv2DBackpropInput on %s equals the cpu kernel', (path) => {
  useConvPath(path);

  it.each([
    ...CONV_CASES,
    // 64 channels in dy: the phases one by one.
    {
      name: '3x3 s2 same, 64 channels (V2 encoder.5)',
      x: [2, 9, 8, 8],
      filter: [3, 3, 8, 64],
      strides: [2, 2],
      pad: 'same',
    },
    { name: '3x3 s2 valid, 64 channels', x: [1, 11, 10, 5], filter: [3, 3, 5, 64], strides: [2, 2], pad: 'valid' },
  ] as typeof CONV_CASES)('$name', async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const runs = convSimdTesting.runs;
    const { cpu, wasm } = await onBothBackends(
      'Conv2DBackpropInput',
      { dy: { shape: dyShape, data: values(dyShape, 3) }, filter: { shape: c.filter, data: values(c.filter, 4) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x },
    );
    expect(wasm.shape).toEqual(c.x);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
    // Where the stride does not divide the kernel, each phase is its own convolution (with only its taps).
    const [sh, sw] = c.strides;
    const apart = phasesApart(c.filter[0], c.filter[1], sh, sw, c.filter[3]);
    if (path === 'simd') expect(convSimdTesting.runs - runs).toBe(apart ? sh * sw : 1);
  });
});
