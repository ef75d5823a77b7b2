import { ExactEuclideanIndex } from 'cbir-core';
import { describe, expect, it } from 'vitest';
import { describeIndexContract, euclidean, oracle } from './index-contract.js';

describeIndexContract('ExactEuclideanIndex', (dim) => new ExactEuclideanIndex(dim), euclidean);

describe('ExactEuclideanIndex', () => {
  it('stays exact when float rounding crowds the candidates (large offsets, near-duplicates)', () => {
    const dim = 8;
    const n = 300;
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) data[i * dim + j] = 1e4 + ((i * 7 + j) % 5) * 1e-3;
    const x = { data, rows: n, cols: dim };
    const q = { data: Float32Array.from({ length: dim }, () => 1e4), rows: 1, cols: dim };
    const index = new ExactEuclideanIndex(dim);
    index.add(x);
    const r = index.search(q, 20);
    expect(Array.from(r.ids)).toEqual(oracle(x, Array.from({ length: n }, (_, i) => i), q, 20, euclidean)[0].map((w) => w.id));
  });
});
