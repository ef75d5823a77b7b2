import { beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { onBothBackends, values } from '../../helpers/kernel-compare.js';

const CASES = [
  {
    name: 'ZeroPadding2D(1) on NHWC',
    x: [2, 5, 6, 3],
    paddings: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
    constantValue: 0,
  },
  {
    name: 'asymmetric, channels too',
    x: [1, 4, 4, 20],
    paddings: [
      [0, 0],
      [2, 0],
      [0, 3],
      [1, 2],
    ],
    constantValue: 0,
  },
  {
    name: 'batch padding, constant 1.5',
    x: [2, 3],
    paddings: [
      [1, 2],
      [0, 1],
    ],
    constantValue: 1.5,
  },
  { name: '1-D', x: [7], paddings: [[3, 1]], constantValue: -2 },
];

describe('wasm PadV2 equals the cpu kernel', () => {
  beforeAll(() => registerWasmTrainingKernels());

  it.each(CASES)('$name', async (c) => {
    const { cpu, wasm } = await onBothBackends(
      'PadV2',
      { x: { shape: c.x, data: values(c.x, 13) } },
      { paddings: c.paddings, constantValue: c.constantValue },
    );
    expect(wasm.shape).toEqual(cpu.shape);
    expect(Array.from(wasm.data)).toEqual(Array.from(cpu.data));
  });
});
