import { describe, expect, it } from 'vitest';
import { onBothBackends, relativeError, values } from '../../helpers/kernel-compare.js';
import { heapKernelsTesting } from '../../helpers/internal.js';
import { HEAP_PATHS, useHeapKernels } from '../../helpers/heap-kernels.js';

const CASES = [
  { name: 'bias gradient [n, h, w, c] -> [c]', x: [8, 9, 7, 5], axis: [0, 1, 2], keepDims: false },
  { name: 'rows not a multiple of the 4 summed at a time', x: [3, 5, 7, 3], axis: [0, 1, 2], keepDims: false },
  { name: 'leading axis, keepDims', x: [6, 4], axis: [0], keepDims: true },
  { name: 'axes out of order', x: [3, 4, 5], axis: [1, 0], keepDims: false },
  { name: 'trailing axis (tfjs kernel)', x: [4, 6], axis: [1], keepDims: false },
  { name: 'all axes (tfjs kernel)', x: [4, 6], axis: [0, 1], keepDims: false },
  { name: 'rows in several calls of the in-place kernel', x: [2, 300, 300, 2], axis: [0, 1, 2], keepDims: false },
];

describe.each(HEAP_PATHS)('wasm Sum equals the cpu kernel (%s)', (_, heap) => {
  useHeapKernels(heap);

  it.each(CASES)('$name', async (c) => {
    const runs = heapKernelsTesting.runs;
    const { cpu, wasm } = await onBothBackends(
      'Sum',
      { x: { shape: c.x, data: values(c.x, 11) } },
      { axis: c.axis, keepDims: c.keepDims },
    );
    expect(wasm.shape).toEqual(cpu.shape);
    expect(relativeError(wasm.data, cpu.data)).toBeLessThanOrEqual(1e-5);
    const leading = c.axis.every((a, i) => [...c.axis].sort()[i] === i) && c.axis.length < c.x.length;
    expect(heapKernelsTesting.runs - runs).toBe(heap && leading ? 1 : 0);
  });
});
