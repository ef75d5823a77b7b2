import { ExactEuclideanIndex } from 'cbir-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../helpers/backends.js';
import { describeIndexContract, euclidean, oracle } from './index-contract.js';

// Batches scan with the backend's matMul on wasm and with the JS loop on cpu: both must meet the contract.
describe.each([
  ['JS scan (cpu backend)', 'cpu'],
  ['matMul scan (wasm backend)', 'wasm'],
] as const)('%s', (_, backend) => {
  beforeAll(() => useBackend(backend));
  afterAll(() => useBackend('cpu'));
  describeIndexContract('ExactEuclideanIndex', (dim) => new ExactEuclideanIndex(dim), euclidean);

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
    const want = oracle(x, Array.from({ length: n }, (_, i) => i), q, 20, euclidean);
    for (let i = 0; i < 4; i++) expect(Array.from(r.ids.subarray(i * 20, (i + 1) * 20))).toEqual(want[i].map((w) => w.id));
  });
});
