import { ExactEuclideanIndex } from 'cbir-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backends.js';
import { setProductEngine } from '../helpers/internal.js';
import { describeIndexContract, euclidean, oracle } from './index-contract.js';

// Every scan must meet the contract: cbir's SIMD kernel (the default), the JS loop (no WebAssembly SIMD), and
// the backend's matMul for batches (GPU and native backends; forced here on wasm).
describe.each([
  ['SIMD scan', 'cpu', 'simd'],
  ['JS scan', 'cpu', 'js'],
  ['matMul scan (wasm backend)', 'wasm', 'matMul'],
] as const)('%s', (_, backend, engine) => {
  beforeAll(async () => {
    await useBackend(backend);
    setProductEngine(engine);
  });
  afterAll(async () => {
    setProductEngine(undefined);
    await useBackend('cpu');
  });
  describeIndexContract('ExactEuclideanIndex', (dim) => new ExactEuclideanIndex(dim), euclidean);

  it.each([
    [37, 3, 1],
    [101, 257, 3],
    [66, 4099, 5],
    [23, 9001, 6],
  ])('equals the float64 oracle for n = %i, dim = %i, %i queries (odd sizes, chunk and block edges)', (n, dim, nq) => {
    let seed = n * dim;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const x = { data: Float32Array.from({ length: n * dim }, rand), rows: n, cols: dim };
    const q = { data: Float32Array.from({ length: nq * dim }, rand), rows: nq, cols: dim };
    const index = new ExactEuclideanIndex(dim);
    index.add(x);
    const k = 7;
    const r = index.search(q, k);
    const want = oracle(
      x,
      Array.from({ length: n }, (_, i) => i),
      q,
      k,
      euclidean,
    );
    for (let i = 0; i < nq; i++) {
      expect(Array.from(r.ids.subarray(i * k, (i + 1) * k))).toEqual(want[i].map((w) => w.id));
      want[i].forEach((w, j) => expect(r.distances[i * k + j]).toBeCloseTo(w.d, 9));
    }
  });

  it('stays exact when float rounding crowds the candidates (large offsets, near-duplicates)', () => {
    const dim = 8;
    const n = 300;
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) data[i * dim + j] = 1e4 + ((i * 7 + j) % 5) * 1e-3;
    const x = { data, rows: n, cols: dim };
    const q = { data: Float32Array.from({ length: 4 * dim }, (_, i) => 1e4 + (i % 3) * 1e-3), rows: 4, cols: dim };
    const index = new ExactEuclideanIndex(dim);
    index.add(x);
    const r = index.search(q, 20);
    const want = oracle(
      x,
      Array.from({ length: n }, (_, i) => i),
      q,
      20,
      euclidean,
    );
    for (let i = 0; i < 4; i++)
      expect(Array.from(r.ids.subarray(i * 20, (i + 1) * 20))).toEqual(want[i].map((w) => w.id));
  });
});
