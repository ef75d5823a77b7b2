import { afterEach, describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { winogradTesting } from '../../helpers/internal.js';
import { CONV_CASES, CONV_PATHS, outSize, useConvPath, type ConvCase } from './conv-cases.js';

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

describe('the Winograd F(4x4, 3x3) filter gradient on the SIMD kernels', () => {
  useConvPath('simd');
  const WINOGRAD = [
    ...CONV_CASES.filter((c) => c.name.startsWith('Winograd') && c.filter[3] % 4 === 0),
    { name: 'V2 encoder.2 shape, 2 images', x: [2, 18, 17, 64], filter: [3, 3, 64, 64], strides: [1, 1], pad: 'same' },
  ] as ConvCase[];

  afterEach(() => {
    winogradTesting.maxBlockTiles = Infinity;
  });

  it.each(WINOGRAD)("$name takes it, and gives the direct gradient's result to float32 tolerance", async (c) => {
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const inputs = { x: { shape: c.x, data: values(c.x, 3) }, dy: { shape: dyShape, data: values(dyShape, 4) } };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
    const runs = winogradTesting.runs;
    const { cpu, wasm: fast } = await onBothBackends('Conv2DBackpropFilter', inputs, attrs);
    expect(winogradTesting.runs).toBe(runs + 1);
    expect(relativeError(fast.data, cpu.data)).toBeLessThanOrEqual(1e-4);
    winogradTesting.enabled = false;
    try {
      const direct = (await onBothBackends('Conv2DBackpropFilter', inputs, attrs)).wasm;
      expect(winogradTesting.runs).toBe(runs + 1);
      expect(relativeError(fast.data, direct.data)).toBeLessThanOrEqual(3e-5);
    } finally {
      winogradTesting.enabled = true;
    }
  });

  it('sums blocks of 4 tiles, several per thread, to the same gradient', async () => {
    const c = WINOGRAD[WINOGRAD.length - 1];
    const [oh, ow] = outSize(c);
    const dyShape = [c.x[0], oh, ow, c.filter[3]];
    const inputs = { x: { shape: c.x, data: values(c.x, 5) }, dy: { shape: dyShape, data: values(dyShape, 6) } };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter };
    const whole = (await onBothBackends('Conv2DBackpropFilter', inputs, attrs)).wasm;
    winogradTesting.maxBlockTiles = 4;
    const runs = winogradTesting.runs;
    const { cpu, wasm: blocks } = await onBothBackends('Conv2DBackpropFilter', inputs, attrs);
    expect(winogradTesting.runs).toBe(runs + 1);
    expect(relativeError(blocks.data, cpu.data)).toBeLessThanOrEqual(1e-4);
    expect(relativeError(blocks.data, whole.data)).toBeLessThanOrEqual(1e-5);
    expect(Array.from(blocks.data)).not.toEqual(Array.from(whole.data)); // other float32 sums: the blocks were used
  });
});
