import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { onBothBackends, values } from '../../helpers/kernel-compare.js';

const CASES = [
  { name: 'pad gradient: inner 4-D crop', x: [2, 10, 10, 3], begin: [0, 1, 1, 0], size: [2, 8, 8, 3] },
  { name: 'channel slice', x: [2, 4, 5, 6], begin: [0, 0, 0, 2], size: [2, 4, 5, 3] },
  { name: 'batch slice (contiguous)', x: [5, 3, 3, 2], begin: [1, 0, 0, 0], size: [3, 3, 3, 2] },
  { name: 'size -1', x: [3, 7], begin: [1, 2], size: [-1, -1] },
  { name: '1-D', x: [17], begin: [3], size: [9] },
  { name: 'every axis partial', x: [3, 4, 5, 6], begin: [1, 1, 2, 3], size: [2, 2, 2, 2] },
];

describe('wasm Slice equals the cpu kernel', () => {
  beforeAll(() => registerWasmTrainingKernels());

  it.each(CASES)('$name', async (c) => {
    const { cpu, wasm } = await onBothBackends(
      'Slice',
      { x: { shape: c.x, data: values(c.x, 9) } },
      { begin: c.begin, size: c.size },
    );
    expect(wasm.shape).toEqual(cpu.shape);
    expect(Array.from(wasm.data)).toEqual(Array.from(cpu.data));
  });
});
