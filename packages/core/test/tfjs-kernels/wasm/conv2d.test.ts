import { afterEach, describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { winogradTesting } from '../../helpers/internal.js';
import { CONV_CASES, CONV_PATHS, useConvPath, type ConvCase } from './conv-cases.js';

/** Forward-only cases: dilation (tfjs allows it at stride 1), wide rows and more than one block of 8 channels. */
const FORWARD_CASES: (ConvCase & { dilations?: [number, number] })[] = [
  ...CONV_CASES,
  {
    name: 'dilation 2, same',
    x: [2, 11, 10, 3],
    filter: [3, 3, 3, 5],
    strides: [1, 1],
    pad: 'same',
    dilations: [2, 2],
  },
  {
    name: 'dilation 2x3, valid',
    x: [1, 12, 13, 4],
    filter: [2, 3, 4, 9],
    strides: [1, 1],
    pad: 'valid',
    dilations: [2, 3],
  },
  {
    name: '3x3 s1 same, 48 -> 64 channels (V2 encoder.3)',
    x: [2, 16, 16, 48],
    filter: [3, 3, 48, 64],
    strides: [1, 1],
    pad: 'same',
  },
  { name: '1x1, 17 channels, 1-pixel rows', x: [3, 7, 1, 5], filter: [1, 1, 5, 17], strides: [1, 1], pad: 'valid' },
];

describe.each(CONV_PATHS)('wasm Conv2D and FusedConv2D on %s equal the cpu kernels', (path) => {
  useConvPath(path);

  it.each(FORWARD_CASES)('Conv2D $name', async (c) => {
    const { cpu, wasm } = await onBothBackends(
      'Conv2D',
      { x: { shape: c.x, data: values(c.x, 5) }, filter: { shape: c.filter, data: values(c.filter, 6) } },
      { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations ?? [1, 1] },
    );
    expect(wasm.shape).toEqual(cpu.shape);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-4);
  });

  it.each([
    ['relu', 'bias and ReLU'],
    ['linear', 'bias only'],
  ])('FusedConv2D with %s (%s)', async (activation) => {
    for (const c of FORWARD_CASES) {
      const bias = [c.filter[3]];
      const { cpu, wasm } = await onBothBackends(
        'FusedConv2D',
        {
          x: { shape: c.x, data: values(c.x, 7) },
          filter: { shape: c.filter, data: values(c.filter, 8) },
          bias: { shape: bias, data: values(bias, 9) },
        },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations ?? [1, 1], activation },
      );
      expect(wasm.shape, c.name).toEqual(cpu.shape);
      expect(relativeError(wasm.data, cpu.data), c.name).toBeLessThanOrEqual(1e-4);
      if (activation === 'relu') expect(Math.min(...wasm.data), c.name).toBe(0);
    }
  });

  it('FusedConv2D without a bias, and with an activation left to tfjs (elu)', async () => {
    const c = CONV_CASES[2];
    for (const activation of ['relu', 'elu']) {
      const { cpu, wasm } = await onBothBackends(
        'FusedConv2D',
        { x: { shape: c.x, data: values(c.x, 10) }, filter: { shape: c.filter, data: values(c.filter, 11) } },
        { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1], activation },
      );
      expect(relativeError(wasm.data, cpu.data), activation).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe('Winograd F(4x4, 3x3) on the SIMD kernels', () => {
  useConvPath('simd');
  const WINOGRAD = [
    ...FORWARD_CASES.filter((c) => c.name.startsWith('Winograd') || c.name.includes('V2 encoder.3')),
    // 256 channels: blocks of tiles cut to fit the cache, across images.
    {
      name: 'V2 encoder.12 shape, 3 images',
      x: [3, 8, 8, 256],
      filter: [3, 3, 256, 256],
      strides: [1, 1],
      pad: 'same',
    },
  ] as typeof FORWARD_CASES;
  afterEach(() => {
    winogradTesting.maxBlockTiles = Infinity;
  });

  // F(4x4)'s float32 transforms round more than the direct sum: measured 1.1e-6 to 1.2e-5 of the largest output here,
  // growing with the taps (9 ci); F(2x2) stayed under 1e-5. The model parity tests hold PyTorch's values to 1e-4.
  it.each(WINOGRAD)("$name takes it, and gives the direct kernel's result to float32 tolerance", async (c) => {
    const inputs = {
      x: { shape: c.x, data: values(c.x, 12) },
      filter: { shape: c.filter, data: values(c.filter, 13) },
    };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] };
    const runs = winogradTesting.runs;
    const fast = (await onBothBackends('Conv2D', inputs, attrs)).wasm;
    expect(winogradTesting.runs).toBe(runs + 1);
    winogradTesting.enabled = false;
    try {
      const direct = (await onBothBackends('Conv2D', inputs, attrs)).wasm;
      expect(winogradTesting.runs).toBe(runs + 1);
      expect(relativeError(fast.data, direct.data)).toBeLessThanOrEqual(3e-5);
    } finally {
      winogradTesting.enabled = true;
    }
  });
  it('gives the same result in blocks of 4 tiles, several per thread', async () => {
    const c = WINOGRAD[0];
    const inputs = {
      x: { shape: c.x, data: values(c.x, 12) },
      filter: { shape: c.filter, data: values(c.filter, 13) },
    };
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: [1, 1] };
    const whole = (await onBothBackends('Conv2D', inputs, attrs)).wasm;
    winogradTesting.maxBlockTiles = 4;
    const runs = winogradTesting.runs;
    const blocks = (await onBothBackends('Conv2D', inputs, attrs)).wasm;
    expect(winogradTesting.runs).toBe(runs + 1);
    expect(Array.from(blocks.data)).toEqual(Array.from(whole.data));
  });
});
