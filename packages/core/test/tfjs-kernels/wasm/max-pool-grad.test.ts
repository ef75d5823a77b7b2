import { describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { heapKernelsTesting } from '../../helpers/internal.js';
import { HEAP_PATHS, useHeapKernels } from '../../helpers/heap-kernels.js';

const CASES = [
  { name: '2x2 s2 valid (V2)', x: [2, 8, 8, 3], filterSize: 2, strides: 2, pad: 'valid' as const },
  { name: '2x2 s1 valid (V1 encoder.5)', x: [2, 7, 7, 4], filterSize: 2, strides: 1, pad: 'valid' as const },
  { name: '2x2 s2 valid, odd size (floor)', x: [1, 9, 11, 2], filterSize: 2, strides: 2, pad: 'valid' as const },
  { name: '3x3 s2 same', x: [2, 10, 9, 3], filterSize: 3, strides: 2, pad: 'same' as const },
  { name: 'batch 32', x: [32, 4, 4, 5], filterSize: 2, strides: 2, pad: 'valid' as const },
  // Channels in SIMD vectors (the in-place kernel's vector loop), even and odd (floor) sizes.
  { name: '2x2 s2 valid, 8 channels', x: [2, 8, 6, 8], filterSize: 2, strides: 2, pad: 'valid' as const },
  { name: '2x2 s2 valid, odd size, 4 channels', x: [2, 9, 7, 4], filterSize: 2, strides: 2, pad: 'valid' as const },
];

describe.each(HEAP_PATHS)('wasm MaxPoolGrad equals the cpu kernel (%s)', (_, heap) => {
  useHeapKernels(heap);

  it.each(CASES)('$name', async (c) => {
    // ReLU-like input: a third of the values clipped to 0, so windows with tied maxima occur.
    const x = values(c.x, 5).map((v) => Math.max(0, v + 0.3));
    const probe = await onBothBackends(
      'MaxPool',
      { x: { shape: c.x, data: x } },
      { filterSize: c.filterSize, strides: c.strides, pad: c.pad },
    );
    const dyShape = probe.cpu.shape;
    const runs = heapKernelsTesting.runs;
    const { cpu, wasm } = await onBothBackends(
      'MaxPoolGrad',
      {
        dy: { shape: dyShape, data: values(dyShape, 6) },
        input: { shape: c.x, data: x },
        output: { shape: dyShape, data: probe.cpu.data },
      },
      { filterSize: c.filterSize, strides: c.strides, pad: c.pad },
    );
    expect(x.filter((v) => v === 0).length).toBeGreaterThan(0);
    expect(wasm.shape).toEqual(c.x);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-6);
    // 2 x 2 windows side by side run in place; the rest in JS.
    expect(heapKernelsTesting.runs - runs).toBe(heap && c.filterSize === 2 && c.strides === 2 ? 1 : 0);
  });
});
