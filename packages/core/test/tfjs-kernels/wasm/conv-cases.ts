import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { registerWasmTrainingKernels } from 'cbir-core/compute';
import { convSimdTesting, setProductEngine } from '../../helpers/internal.js';

/** Convolution shapes the gradient kernels are checked on: strides 1-3, valid/same/explicit padding, odd sizes. */
export interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]];
}

export const CONV_CASES: ConvCase[] = [
  { name: '3x3 s1 valid', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'valid' },
  { name: '3x3 s1 same, odd size', x: [1, 11, 7, 5], filter: [3, 3, 5, 6], strides: [1, 1], pad: 'same' },
  { name: '3x3 s2 same', x: [2, 10, 10, 4], filter: [3, 3, 4, 3], strides: [2, 2], pad: 'same' },
  { name: '3x3 s2 valid, odd size', x: [3, 13, 11, 2], filter: [3, 3, 2, 5], strides: [2, 2], pad: 'valid' },
  { name: '3x3 s3 valid (V1 encoder.0)', x: [2, 20, 20, 3], filter: [3, 3, 3, 16], strides: [3, 3], pad: 'valid' },
  { name: '5x5 s3 same', x: [1, 17, 16, 3], filter: [5, 5, 3, 4], strides: [3, 3], pad: 'same' },
  { name: '4x4 s2 valid (V2 decoder)', x: [2, 10, 10, 6], filter: [4, 4, 6, 5], strides: [2, 2], pad: 'valid' },
  { name: '6x6 s2 valid (V1 decoder.4)', x: [1, 14, 14, 3], filter: [6, 6, 3, 8], strides: [2, 2], pad: 'valid' },
  { name: '2x2 s2 valid', x: [2, 8, 8, 3], filter: [2, 2, 3, 3], strides: [2, 2], pad: 'valid' },
  { name: '3x2 kernel, unequal strides', x: [2, 9, 10, 3], filter: [3, 2, 3, 4], strides: [2, 1], pad: 'same' },
  {
    name: 'explicit padding',
    x: [1, 8, 9, 2],
    filter: [3, 3, 2, 3],
    strides: [2, 2],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
  { name: 'batch 32', x: [32, 6, 6, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  { name: '1x1', x: [2, 5, 5, 8], filter: [1, 1, 8, 4], strides: [1, 1], pad: 'valid' },
  {
    name: '5x5 s1 same, more in than out channels',
    x: [3, 9, 12, 9],
    filter: [5, 5, 9, 2],
    strides: [1, 1],
    pad: 'same',
  },
  {
    name: 's1 explicit uneven padding',
    x: [2, 7, 8, 4],
    filter: [3, 3, 4, 6],
    strides: [1, 1],
    pad: [
      [0, 0],
      [0, 2],
      [1, 0],
      [0, 0],
    ],
  },
  // 3x3 stride 1 with channels in SIMD vectors: Winograd F(4x4, 3x3) (odd sizes leave partial tiles).
  {
    name: 'Winograd 3x3 s1 same (V2 encoder.2)',
    x: [2, 10, 9, 8],
    filter: [3, 3, 8, 12],
    strides: [1, 1],
    pad: 'same',
  },
  {
    name: 'Winograd 3x3 s1 valid, odd size (V2 encoder.7)',
    x: [1, 11, 13, 16],
    filter: [3, 3, 16, 8],
    strides: [1, 1],
    pad: 'valid',
  },
  {
    name: 'Winograd 3x3 s1 uneven padding, 9 output channels',
    x: [2, 7, 8, 8],
    filter: [3, 3, 8, 9],
    strides: [1, 1],
    pad: [
      [0, 0],
      [0, 2],
      [1, 0],
      [0, 0],
    ],
  },
];

/** Forward output spatial size of a case, for building `dy`. */
export function outSize(c: ConvCase): [number, number] {
  const [, h, w] = c.x;
  const [kh, kw] = c.filter;
  const [sh, sw] = c.strides;
  if (c.pad === 'same') return [Math.ceil(h / sh), Math.ceil(w / sw)];
  const [pt, pb] = c.pad === 'valid' ? [0, 0] : c.pad[1];
  const [pl, pr] = c.pad === 'valid' ? [0, 0] : c.pad[2];
  return [Math.floor((h + pt + pb - kh) / sh) + 1, Math.floor((w + pl + pr - kw) / sw) + 1];
}

/** Where the wasm convolution kernels run in a describe block: cbir's SIMD kernel, or XNNPACK (no SIMD kernels). */
export type ConvPath = 'simd' | 'xnnpack';
export const CONV_PATHS: ConvPath[] = ['simd', 'xnnpack'];

/**
 * Sets the describe block's tests on `path` and checks after each that it was taken: on 'simd', every shape runs on
 * cbir's kernel, including those its speed rules leave to XNNPACK (a run counter must grow); on 'xnnpack', the SIMD
 * kernels are off (the counter must not move).
 */
export function useConvPath(path: ConvPath): void {
  let runs = 0;
  beforeAll(() => {
    registerWasmTrainingKernels();
    if (path === 'simd') convSimdTesting.always = true;
    else setProductEngine('js');
  });
  afterAll(() => {
    convSimdTesting.always = false;
    setProductEngine(undefined);
  });
  beforeEach(() => {
    runs = convSimdTesting.runs;
  });
  afterEach(() => {
    if (path === 'simd') expect(convSimdTesting.runs, "runs on cbir's SIMD kernel").toBeGreaterThan(runs);
    else expect(convSimdTesting.runs, 'no run on the SIMD kernel').toBe(runs);
  });
}
